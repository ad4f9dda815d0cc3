"""The consent chain HTTP API: checkpoints, consistency proofs, blocks and the audit query."""

from __future__ import annotations

from pathlib import Path

import httpx

from consent_chain.checkpoints import trusted_keys, verify_checkpoint
from consent_chain.genesis import genesis_from_document
from consent_chain.merkle import verify_consistency
from consent_chain.state import ChainState
from service.consent_header import HEADER
from tests.service.test_consent_chain import (
    BAM_ID,
    DATASET_ID,
    ChainNode,
    chain_node,
    consent_of,
    passport_file,
    run_cli,
    ticket,
)

__all__ = ["chain_node"]


def get(node: ChainNode, path: str, **params: str | int) -> httpx.Response:
    return httpx.get(f"{node.url}/consent-chain{path}", params=params, timeout=30)


def test_checkpoint_verifies_against_genesis_keys(chain_node: ChainNode) -> None:
    genesis = genesis_from_document(get(chain_node, "/genesis").json()["genesis"])
    body = get(chain_node, "/checkpoint").json()
    checkpoint = verify_checkpoint(body, trusted_keys(ChainState(genesis)), genesis.chain_id)
    assert checkpoint.tree_size >= 2


def test_consistency_proof_links_two_sizes(chain_node: ChainNode, tmp_path: Path) -> None:
    first = get(chain_node, "/checkpoint").json()["body"]
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    ticket(chain_node, BAM_ID, passport)
    second = get(chain_node, "/checkpoint").json()["body"]
    proof = get(chain_node, "/proofs/consistency", first=first["tree_size"],
                second=second["tree_size"]).json()
    verify_consistency(first["tree_size"], second["tree_size"],
                       bytes.fromhex(first["root_hash"]), bytes.fromhex(second["root_hash"]),
                       [bytes.fromhex(node) for node in proof["proof"]])
    assert proof["second_root"] == second["root_hash"]


def test_consistency_beyond_log_size_is_invalid(chain_node: ChainNode) -> None:
    response = get(chain_node, "/proofs/consistency", first=0, second=10_000)
    assert response.status_code == 400
    assert "log size" in response.json()["htsget"]["message"]


def test_block_lists_its_transactions(chain_node: ChainNode) -> None:
    block = get(chain_node, "/blocks/1").json()
    assert block["header"]["height"] == 1
    assert block["transactions"][0]["body"]["type"] == "dataset_register"


def test_unknown_block_is_not_found(chain_node: ChainNode) -> None:
    response = get(chain_node, "/blocks/999")
    assert response.status_code == 404
    assert response.json()["htsget"]["error"] == "NotFound"


def test_malformed_tx_hash_is_invalid_input(chain_node: ChainNode) -> None:
    response = get(chain_node, "/transactions/xyz/receipt")
    assert response.status_code == 400


def test_unknown_tx_hash_is_not_found(chain_node: ChainNode) -> None:
    response = get(chain_node, f"/transactions/{'0' * 64}/receipt")
    assert response.status_code == 404


def test_audit_pages_decisions_by_object(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    hashes = [ticket(chain_node, BAM_ID, passport).headers[HEADER] for _ in range(3)]
    first = get(chain_node, "/decisions", object_id=BAM_ID, page_size=2).json()
    rest = get(chain_node, "/decisions", object_id=BAM_ID, page_size=2,
               page_token=first["next_page_token"]).json()
    found = [row["tx_hash"] for row in first["decisions"] + rest["decisions"]]
    assert found == hashes
    assert "next_page_token" not in rest


def test_audit_by_participant_and_requester(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    allowed = ticket(chain_node, BAM_ID, passport)
    requester = get(chain_node, "/decisions", dataset_id=DATASET_ID).json()["decisions"][0][
        "requester"]
    withdrawn = run_cli(chain_node, "consent", "withdraw", "--dataset", DATASET_ID,
                        "--participant", "NA12878", "--objects", BAM_ID)
    assert withdrawn.returncode == 0, withdrawn.stderr
    participant = consent_of(chain_node).node.participant("NA12878")

    by_participant = get(chain_node, "/decisions", participant=participant).json()
    by_requester = get(chain_node, "/decisions", requester=requester).json()

    assert [row["tx_hash"] for row in by_participant["decisions"]] == [
        allowed.headers[HEADER]]
    assert len(by_requester["decisions"]) == 1


def test_audit_holds_no_personal_data(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    ticket(chain_node, BAM_ID, passport)
    text = get(chain_node, "/decisions").text
    assert "alice" not in text
    assert passport.read_text().strip()[:40] not in text


def test_bad_page_token_is_invalid(chain_node: ChainNode) -> None:
    response = get(chain_node, "/decisions", page_token="abc")
    assert response.status_code == 400


def test_audit_names_and_filters_member(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    recorded = ticket(chain_node, BAM_ID, passport).headers[HEADER]
    member = consent_of(chain_node).node.member
    mine = get(chain_node, "/decisions", member=member).json()["decisions"]
    others = get(chain_node, "/decisions", member="another-institution").json()["decisions"]
    assert recorded in [row["tx_hash"] for row in mine]
    assert {row["member"] for row in mine} == {member}
    assert others == []
