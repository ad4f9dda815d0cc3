"""Contract tests every ChainStore backend must pass (parametrized by `store_factory`)."""

from __future__ import annotations

import hashlib

import pytest

from consent_chain.errors import BlockNotFound, StoreConflict
from consent_chain.genesis import Genesis
from consent_chain.store import ChainStore, StoredBlock, StoredTransaction
from tests.consent_chain.conftest import StoreFactory

pytestmark = pytest.mark.parametrize("store_factory", ["sqlite", "etcd"], indirect=True)


def make_block(height: int, prev_hash: bytes, first_leaf: int, count: int) -> StoredBlock:
    header = f"header-{height}".encode()
    transactions = tuple(
        StoredTransaction(
            leaf_index=first_leaf + index, height=height, tx_index=index,
            tx_hash=hashlib.sha256(f"tx-{first_leaf + index}".encode()).digest(),
            leaf_hash=hashlib.sha256(f"leaf-{first_leaf + index}".encode()).digest(),
            envelope=f"envelope-{first_leaf + index}".encode(),
        )
        for index in range(count)
    )
    return StoredBlock(height, hashlib.sha256(header).digest(), prev_hash, header, transactions)


def append_chain(store: ChainStore, genesis: Genesis, counts: list[int]) -> list[StoredBlock]:
    blocks, prev_hash, first_leaf = [], bytes.fromhex(genesis.chain_id), 0
    for height, count in enumerate(counts, start=1):
        block = make_block(height, prev_hash, first_leaf, count)
        store.append_block(block)
        blocks.append(block)
        prev_hash, first_leaf = block.block_hash, first_leaf + count
    return blocks


def test_empty_store_has_no_head(store: ChainStore) -> None:
    assert store.head() is None


def test_append_moves_head(store: ChainStore, genesis: Genesis) -> None:
    blocks = append_chain(store, genesis, [2, 3])
    head = store.head()
    assert head is not None
    assert (head.height, head.block_hash, head.log_size) == (2, blocks[1].block_hash, 5)


def test_block_at_returns_stored_bytes(store: ChainStore, genesis: Genesis) -> None:
    blocks = append_chain(store, genesis, [2, 3])
    assert store.block_at(2) == blocks[1]


def test_transaction_lookups(store: ChainStore, genesis: Genesis) -> None:
    blocks = append_chain(store, genesis, [2, 3])
    third = blocks[1].transactions[0]
    assert store.transaction_at(2) == third
    assert store.find_transaction(third.tx_hash) == third
    assert store.find_transaction(b"\x00" * 32) is None


def test_leaf_hashes_in_log_order(store: ChainStore, genesis: Genesis) -> None:
    blocks = append_chain(store, genesis, [2, 3])
    expected = [tx.leaf_hash for block in blocks for tx in block.transactions]
    assert store.leaf_hashes(0, 5) == expected
    assert store.leaf_hashes(1, 3) == expected[1:3]


def test_missing_positions_raise(store: ChainStore, genesis: Genesis) -> None:
    append_chain(store, genesis, [2])
    with pytest.raises(BlockNotFound):
        store.block_at(2)
    with pytest.raises(BlockNotFound):
        store.transaction_at(2)
    with pytest.raises(BlockNotFound):
        store.leaf_hashes(0, 3)


def test_wrong_height_conflicts(store: ChainStore, genesis: Genesis) -> None:
    blocks = append_chain(store, genesis, [1])
    with pytest.raises(StoreConflict, match="height 3"):
        store.append_block(make_block(3, blocks[0].block_hash, 1, 1))


def test_first_block_must_link_to_chain_id(store: ChainStore) -> None:
    with pytest.raises(StoreConflict, match="prev_hash"):
        store.append_block(make_block(1, b"\x00" * 32, 0, 1))


def test_wrong_prev_hash_conflicts(store: ChainStore, genesis: Genesis) -> None:
    append_chain(store, genesis, [1])
    with pytest.raises(StoreConflict, match="prev_hash"):
        store.append_block(make_block(2, b"\x00" * 32, 1, 1))


def test_wrong_leaf_index_conflicts(store: ChainStore, genesis: Genesis) -> None:
    blocks = append_chain(store, genesis, [1])
    with pytest.raises(StoreConflict, match="position"):
        store.append_block(make_block(2, blocks[0].block_hash, 5, 1))


def test_empty_block_conflicts(store: ChainStore, genesis: Genesis) -> None:
    with pytest.raises(StoreConflict, match="no transactions"):
        store.append_block(make_block(1, bytes.fromhex(genesis.chain_id), 0, 0))


def test_rejected_append_changes_nothing(store: ChainStore, genesis: Genesis) -> None:
    append_chain(store, genesis, [1])
    with pytest.raises(StoreConflict):
        store.append_block(make_block(2, b"\x00" * 32, 1, 1))
    head = store.head()
    assert head is not None
    assert (head.height, head.log_size) == (1, 1)


def test_reopen_keeps_blocks(store_factory: StoreFactory, genesis: Genesis) -> None:
    first = store_factory()
    blocks = append_chain(first, genesis, [2, 1])
    first.close()
    reopened = store_factory()
    assert reopened.block_at(2) == blocks[1]
