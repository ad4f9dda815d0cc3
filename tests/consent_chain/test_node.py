"""The single-institution chain node: files on first start, reopening, several writers."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from consent_chain.consents import build_consent
from consent_chain.errors import ChainError, InvalidTransaction
from consent_chain.node import GENESIS_FILE, KEY_FILE, PSEUDONYM_FILE, ChainNode, NodeSettings
from tests.consent_chain.builders import record_block_reads


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_creates_private_key_files(chain_node: ChainNode) -> None:
    directory = chain_node.settings.directory
    assert _mode(directory / KEY_FILE) == 0o600
    assert _mode(directory / PSEUDONYM_FILE) == 0o600


def test_genesis_names_the_institution(chain_node: ChainNode) -> None:
    members = chain_node.genesis.model.members
    assert [member.id for member in members] == ["hospital-a"]
    assert chain_node.genesis.model.policy.block.proposers == ["hospital-a"]


def test_reopen_keeps_chain_and_state(node_settings: NodeSettings) -> None:
    first = ChainNode.open(node_settings)
    first.submit("dataset_register", {"dataset_id": "DS1", "consent": build_consent("GRU")})
    chain_id = first.chain_id
    first.close()
    second = ChainNode.open(node_settings)
    try:
        assert second.chain_id == chain_id
        assert "DS1" in second.state.datasets
    finally:
        second.close()


def test_other_institution_id_is_rejected(node_settings: NodeSettings) -> None:
    ChainNode.open(node_settings).close()
    with pytest.raises(ChainError, match=r"chain\.institution_id"):
        ChainNode.open(replace(node_settings, institution_id="hospital-b"))


def test_readable_key_file_is_rejected(node_settings: NodeSettings) -> None:
    ChainNode.open(node_settings).close()
    (node_settings.directory / KEY_FILE).chmod(0o644)
    with pytest.raises(ChainError, match="chmod 600"):
        ChainNode.open(node_settings)


def test_second_writer_is_seen_on_next_submit(node_settings: NodeSettings) -> None:
    server = ChainNode.open(node_settings)
    command = ChainNode.open(node_settings)
    try:
        command.submit("dataset_register", {"dataset_id": "DS1", "consent": build_consent("GRU")})
        server.submit("consent_withdraw", {"dataset_id": "DS1", "scope": "dataset"})
        assert server.state.datasets["DS1"].withdrawn is True
    finally:
        command.close()
        server.close()


def test_stale_writer_retries_after_conflict(node_settings: NodeSettings) -> None:
    first = ChainNode.open(node_settings)
    second = ChainNode.open(node_settings)
    try:
        first.submit("dataset_register", {"dataset_id": "DS1", "consent": build_consent("GRU")})
        second.submit("dataset_register", {"dataset_id": "DS2", "consent": build_consent("HMB")})
        first.refresh()
        assert set(first.state.datasets) == {"DS1", "DS2"}
    finally:
        first.close()
        second.close()


def test_rule_violation_raises_invalid_transaction(chain_node: ChainNode) -> None:
    with pytest.raises(InvalidTransaction, match="not registered"):
        chain_node.submit("consent_withdraw", {"dataset_id": "DS9", "scope": "dataset"})


def test_pseudonyms_depend_on_the_node_secret(
    chain_node: ChainNode, tmp_path: Path
) -> None:
    other = ChainNode.open(NodeSettings(tmp_path / "other", "hospital-a", "A"))
    try:
        assert chain_node.participant("P1") != other.participant("P1")
        assert chain_node.requester("iss", "sub") != other.requester("iss", "sub")
    finally:
        other.close()


def test_genesis_file_is_canonical(chain_node: ChainNode) -> None:
    path = chain_node.settings.directory / GENESIS_FILE
    assert path.read_bytes() == chain_node.genesis.encoded


def test_refresh_reads_only_the_new_blocks(
    node_settings: NodeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ChainNode.open(node_settings)
    command = ChainNode.open(node_settings)
    try:
        server.submit("dataset_register", {"dataset_id": "DS1", "consent": build_consent("GRU")})
        command.refresh()
        server.submit("consent_withdraw", {"dataset_id": "DS1", "scope": "dataset"})
        requested = record_block_reads(command.store, monkeypatch)
        command.refresh()
        head = server.store.head()
        assert head is not None
        # Only the withdrawal's block is read, then the next height, which is missing.
        assert requested == [head.height, head.height + 1]
        assert command.state.datasets["DS1"].withdrawn is True
    finally:
        command.close()
        server.close()
