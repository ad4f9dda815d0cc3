"""Consent changes through the node and catalog, the catalog itself, and the audit index."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from consent_chain.audit import AuditIndex, AuditQuery
from consent_chain.catalog import CatalogError, ConsentCatalog
from consent_chain.consents import (
    build_consent,
    duo_term,
    map_withdrawn_participant,
    register_dataset,
    unmapped_withdrawals,
    update_consent,
    withdraw,
)
from consent_chain.errors import InvalidTransaction
from consent_chain.node import ChainNode, NodeSettings
from consent_chain.store_sqlite import SqliteChainStore
from consent_chain.verify import verify_chain

URL = "https://data.example.org/datasets/DS1"


def _register(node: ChainNode, catalog: ConsentCatalog, dataset_id: str = "DS1") -> None:
    register_dataset(node, catalog, dataset_id, f"{URL}/{dataset_id}", build_consent("GRU"),
                     [f"{dataset_id.lower()}/"])


def _decision(node: ChainNode, object_id: str, requester: str, decision: str = "allow") -> None:
    payload = {
        "request_id": "r", "time": 1, "endpoint": "htsget/reads", "object_id": object_id,
        "requester": requester, "consent": {"dataset_id": "DS1", "version": 1},
        "decision": decision, "reasons": ["test"],
    }
    node.submit("access_decision", payload)


def test_duo_names_map_to_terms() -> None:
    assert duo_term("gru") == "DUO:0000042"
    assert duo_term("DUO:0000045") == "DUO:0000045"


def test_unknown_duo_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown DUO code 'XYZ'"):
        duo_term("XYZ")


def test_disease_specific_needs_mondo() -> None:
    with pytest.raises(ValueError, match="MONDO"):
        build_consent("DS")


def test_expiry_date_becomes_time_limit() -> None:
    consent = build_consent("HMB", modifiers=["TS"], expires=date(2030, 1, 1))
    assert consent["time_limit"] == {"not_after": 1_893_456_000_000}


def test_register_links_objects_to_dataset(chain_node: ChainNode,
                                           catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    found = catalog.dataset_for_object("ds1/sample.bam")
    assert found is not None
    assert found.dataset_id == "DS1"


def test_longest_prefix_wins(chain_node: ChainNode, catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog, "DS1")
    register_dataset(chain_node, catalog, "DS2", URL + "2", build_consent("GRU"), ["ds1/sub/"])
    found = catalog.dataset_for_object("ds1/sub/x.bam")
    assert found is not None
    assert found.dataset_id == "DS2"


def test_prefix_of_other_dataset_is_rejected(chain_node: ChainNode,
                                             catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog, "DS1")
    with pytest.raises(CatalogError, match="already belongs to dataset 'DS1'"):
        catalog.set_dataset("DS2", URL, ["ds1/"])


def test_register_with_taken_prefix_leaves_chain_unchanged(
    chain_node: ChainNode, catalog: ConsentCatalog
) -> None:
    _register(chain_node, catalog, "DS1")
    head = chain_node.store.head()
    with pytest.raises(CatalogError, match="already belongs to dataset 'DS1'"):
        register_dataset(chain_node, catalog, "DS2", URL, build_consent("GRU"), ["ds1/"])
    assert chain_node.store.head() == head
    assert "DS2" not in chain_node.state.datasets
    register_dataset(chain_node, catalog, "DS2", URL, build_consent("GRU"), ["ds2/"])
    assert catalog.dataset_for_object("ds2/x") is not None


def test_update_with_taken_prefix_leaves_consent_unchanged(
    chain_node: ChainNode, catalog: ConsentCatalog
) -> None:
    _register(chain_node, catalog, "DS1")
    _register(chain_node, catalog, "DS2")
    with pytest.raises(CatalogError, match="already belongs to dataset 'DS1'"):
        update_consent(chain_node, catalog, "DS2", build_consent("HMB"), prefixes=["ds1/"])
    assert chain_node.state.datasets["DS2"].version == 1


def test_update_bumps_consent_version(chain_node: ChainNode, catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    update_consent(chain_node, catalog, "DS1", build_consent("HMB"))
    record = chain_node.state.datasets["DS1"]
    assert record.version == 2
    assert record.consent["permission"] == "DUO:0000006"


def test_update_of_unknown_dataset_fails(chain_node: ChainNode,
                                         catalog: ConsentCatalog) -> None:
    with pytest.raises(InvalidTransaction, match="register it first"):
        update_consent(chain_node, catalog, "DS9", build_consent("GRU"))


def test_participant_withdrawal_maps_objects(chain_node: ChainNode,
                                             catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    withdraw(chain_node, catalog, "DS1", "participant-7", ["ds1/p7."])
    pseudonym = chain_node.participant("participant-7")
    assert pseudonym in chain_node.state.datasets["DS1"].withdrawn_participants
    assert catalog.participants_for_object("DS1", "ds1/p7.bam") == [pseudonym]
    assert catalog.participants_for_object("DS1", "ds1/p8.bam") == []


def test_participant_withdrawal_needs_objects(chain_node: ChainNode,
                                              catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    with pytest.raises(ValueError, match="object prefixes"):
        withdraw(chain_node, catalog, "DS1", "participant-7")


def _withdraw_elsewhere(node: ChainNode, participant_id: str) -> str:
    """Withdraw a participant on chain only, as another institution's node would."""
    pseudonym = node.participant(participant_id)
    node.submit("consent_withdraw",
                {"dataset_id": "DS1", "scope": "participant", "participant": pseudonym})
    return pseudonym


def test_withdrawal_elsewhere_is_unmapped(chain_node: ChainNode,
                                          catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    withdraw(chain_node, catalog, "DS1", "participant-7", ["ds1/p7."])
    pseudonym = _withdraw_elsewhere(chain_node, "participant-8")
    assert unmapped_withdrawals(chain_node, catalog, "DS1") == (pseudonym,)


def test_map_records_objects_of_withdrawn_participant(chain_node: ChainNode,
                                                      catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    pseudonym = _withdraw_elsewhere(chain_node, "participant-8")
    map_withdrawn_participant(chain_node, catalog, "DS1", pseudonym.upper(), ["ds1/p8."])
    assert unmapped_withdrawals(chain_node, catalog, "DS1") == ()
    assert catalog.participants_for_object("DS1", "ds1/p8.bam") == [pseudonym]


def test_map_records_participant_without_objects(chain_node: ChainNode,
                                                 catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    pseudonym = _withdraw_elsewhere(chain_node, "participant-8")
    map_withdrawn_participant(chain_node, catalog, "DS1", pseudonym, [])
    assert unmapped_withdrawals(chain_node, catalog, "DS1") == ()
    assert catalog.dataset_participants("DS1") == {pseudonym: []}


def test_map_rejects_participant_who_did_not_withdraw(chain_node: ChainNode,
                                                     catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    with pytest.raises(CatalogError, match="not a withdrawn participant of dataset 'DS1'"):
        map_withdrawn_participant(chain_node, catalog, "DS1", "ab" * 32, [])
    assert catalog.dataset_participants("DS1") == {}


def test_map_rejects_unregistered_dataset(chain_node: ChainNode,
                                          catalog: ConsentCatalog) -> None:
    with pytest.raises(CatalogError, match="not registered on the consent chain"):
        map_withdrawn_participant(chain_node, catalog, "DS9", "ab" * 32, ["ds9/"])


def test_unmapped_withdrawals_needs_cataloged_dataset(chain_node: ChainNode,
                                                      catalog: ConsentCatalog) -> None:
    chain_node.submit("dataset_register", {"dataset_id": "DS1", "consent": build_consent("GRU")})
    with pytest.raises(CatalogError, match="not in this node's catalog"):
        unmapped_withdrawals(chain_node, catalog, "DS1")


def test_dataset_withdrawal_blocks_allow(chain_node: ChainNode, catalog: ConsentCatalog) -> None:
    _register(chain_node, catalog)
    withdraw(chain_node, catalog, "DS1")
    with pytest.raises(InvalidTransaction, match="after withdrawal"):
        _decision(chain_node, "ds1/a.bam", "a" * 64)


def test_audit_filters_by_requester(chain_node: ChainNode, catalog: ConsentCatalog,
                                    tmp_path: Path) -> None:
    _register(chain_node, catalog)
    _decision(chain_node, "ds1/a.bam", "a" * 64)
    _decision(chain_node, "ds1/b.bam", "b" * 64, "deny")
    index = AuditIndex(tmp_path / "audit.sqlite")
    index.sync(chain_node.store)
    page = index.query(AuditQuery(requester="b" * 64))
    assert [row["object_id"] for row in page.decisions] == ["ds1/b.bam"]
    index.close()


def test_audit_pages_in_log_order(chain_node: ChainNode, catalog: ConsentCatalog,
                                  tmp_path: Path) -> None:
    _register(chain_node, catalog)
    for name in "abc":
        _decision(chain_node, f"ds1/{name}.bam", "a" * 64)
    index = AuditIndex(tmp_path / "audit.sqlite")
    index.sync(chain_node.store)
    first = index.query(AuditQuery(dataset_id="DS1", limit=2))
    assert first.next_after is not None
    rest = index.query(AuditQuery(dataset_id="DS1", limit=2, after_leaf=first.next_after))
    objects = [row["object_id"] for row in first.decisions + rest.decisions]
    assert objects == ["ds1/a.bam", "ds1/b.bam", "ds1/c.bam"]
    assert rest.next_after is None
    index.close()


def test_audit_filters_by_object_prefixes(chain_node: ChainNode, catalog: ConsentCatalog,
                                          tmp_path: Path) -> None:
    _register(chain_node, catalog)
    _decision(chain_node, "ds1/p7.bam", "a" * 64)
    _decision(chain_node, "ds1/p8.bam", "a" * 64)
    index = AuditIndex(tmp_path / "audit.sqlite")
    index.sync(chain_node.store)
    page = index.query(AuditQuery(object_prefixes=("ds1/p7",)))
    assert [row["object_id"] for row in page.decisions] == ["ds1/p7.bam"]
    index.close()


def test_tampered_byte_fails_verification_at_its_block(node_settings: NodeSettings,
                                                       catalog: ConsentCatalog) -> None:
    node = ChainNode.open(node_settings)
    _register(node, catalog)
    _decision(node, "ds1/tamper-me.bam", "a" * 64)
    genesis, path = node.genesis, node.store.path
    node.close()
    data = bytearray(path.read_bytes())
    data[data.index(b"tamper-me")] = ord("T")
    path.write_bytes(bytes(data))
    store = SqliteChainStore(path, genesis.chain_id)
    report = verify_chain(store, genesis)
    store.close()
    assert report.failure is not None
    assert report.failure.height == 2
