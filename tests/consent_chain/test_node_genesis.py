"""A node joining a shared genesis (`genesis_file`), and the mirror several processes extend."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from consent_chain.errors import InvalidGenesis, StoreConflict
from consent_chain.genesis import Genesis
from consent_chain.ledger import Ledger
from consent_chain.node import GENESIS_FILE, KEY_FILE, ChainNode, NodeSettings, write_private_file
from consent_chain.node_etcd import SharedMirrorStore
from consent_chain.verify import replay_chain
from tests.consent_chain.builders import build_genesis


@pytest.fixture
def shared_settings(tmp_path: Path) -> NodeSettings:
    """Settings of hospital-a's node, holding hospital-a's test key, with a shared genesis."""
    genesis_file = tmp_path / "shared-genesis.json"
    genesis_file.write_bytes(build_genesis().encoded)
    directory = tmp_path / "chain"
    seed = hashlib.sha256(b"consentry-test/hospital-a").digest()
    write_private_file(directory / KEY_FILE, seed)
    return NodeSettings(directory, "hospital-a", "Hospital A", max_block_delay_ms=1,
                        genesis_file=genesis_file)


def test_shared_genesis_is_pinned(shared_settings: NodeSettings) -> None:
    node = ChainNode.open(shared_settings)
    try:
        assert node.chain_id == build_genesis().chain_id
        pinned = (shared_settings.directory / GENESIS_FILE).read_bytes()
        assert pinned == build_genesis().encoded
    finally:
        node.close()


def test_shared_genesis_rejects_unknown_member(shared_settings: NodeSettings) -> None:
    with pytest.raises(InvalidGenesis, match="has no member 'clinic-z'"):
        ChainNode.open(replace(shared_settings, institution_id="clinic-z"))


def test_shared_genesis_rejects_other_key(shared_settings: NodeSettings) -> None:
    with pytest.raises(InvalidGenesis, match="lists no key"):
        ChainNode.open(replace(shared_settings, institution_id="research-b"))


def test_shared_genesis_rejects_other_pinned_chain(shared_settings: NodeSettings,
                                                   tmp_path: Path) -> None:
    ChainNode.open(shared_settings).close()
    other = tmp_path / "other-genesis.json"
    other.write_bytes(build_genesis(("hospital-a", "steward")).encoded)
    with pytest.raises(InvalidGenesis, match="use a fresh state directory"):
        ChainNode.open(replace(shared_settings, genesis_file=other))


def test_missing_genesis_file_is_named(shared_settings: NodeSettings, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(InvalidGenesis, match=r"cannot read chain\.genesis_file"):
        ChainNode.open(replace(shared_settings, genesis_file=missing))


def test_mirror_accepts_block_another_process_appended(populated: Ledger, genesis: Genesis,
                                                       tmp_path: Path) -> None:
    mirror = SharedMirrorStore(tmp_path / "mirror.sqlite", genesis.chain_id)
    try:
        first, second = populated.store.block_at(1), populated.store.block_at(2)
        mirror.append_block(first)
        mirror.append_block(first)
        with pytest.raises(StoreConflict):
            mirror.append_block(replace(second, height=1))
        report, _ = replay_chain(mirror, genesis)
        assert report.ok
        assert report.blocks_verified == 1
    finally:
        mirror.close()
