"""Tests for the ledger: validation on submit, group commit and failure handling."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from consent_chain.blocks import decode_header
from consent_chain.crypto import Signer
from consent_chain.errors import ChainCorrupted, ChainError, InvalidBlock, InvalidTransaction
from consent_chain.genesis import Genesis
from consent_chain.ledger import Inclusion, Ledger
from consent_chain.store import ChainStore, StoredBlock
from consent_chain.store_sqlite import SqliteChainStore
from consent_chain.verify import verify_chain
from tests.consent_chain.builders import TxFactory, signer_for
from tests.consent_chain.conftest import open_ledger


def block_sizes(store: ChainStore) -> list[int]:
    head = store.head()
    height = 0 if head is None else head.height
    return [len(store.block_at(h).transactions) for h in range(1, height + 1)]


def test_submit_and_wait_returns_committed_position(ledger: Ledger, txs: TxFactory) -> None:
    tx = txs.register_dataset()
    inclusion = ledger.submit_and_wait(tx)
    stored = ledger.store.transaction_at(inclusion.leaf_index)
    assert inclusion == Inclusion(tx.tx_hash, 1, 0)
    assert stored.envelope == tx.envelope


def test_count_limit_seals_full_blocks(store: ChainStore, genesis: Genesis, txs: TxFactory) -> None:
    ledger = open_ledger(store, genesis, max_block_transactions=3, max_block_delay_ms=60_000)
    futures = [ledger.submit(txs.register_dataset())]
    futures += [ledger.submit(txs.decision(number)) for number in range(5)]
    for future in futures:
        future.result(5)
    ledger.close()
    assert block_sizes(store) == [3, 3]


def test_delay_limit_seals_partial_block(
    store: ChainStore, genesis: Genesis, txs: TxFactory
) -> None:
    ledger = open_ledger(store, genesis, max_block_transactions=100, max_block_delay_ms=50)
    started = time.monotonic()
    inclusion = ledger.submit_and_wait(txs.register_dataset(), timeout=5)
    waited = time.monotonic() - started
    ledger.close()
    assert inclusion.height == 1
    assert waited >= 0.05


def test_concurrent_submitters_share_blocks(
    store: ChainStore, genesis: Genesis, txs: TxFactory
) -> None:
    ledger = open_ledger(store, genesis, max_block_transactions=8, max_block_delay_ms=20)
    ledger.submit_and_wait(txs.register_dataset())
    lock = threading.Lock()
    results: list[Inclusion] = []

    def submit_some(first: int) -> None:
        for number in range(first, first + 10):
            with lock:
                future = ledger.submit(txs.decision(number))
            results.append(future.result(10))

    threads = [threading.Thread(target=submit_some, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.close()
    assert sorted(r.leaf_index for r in results) == list(range(1, 41))
    assert len(block_sizes(store)) < 41
    assert verify_chain(store, genesis).ok


def test_invalid_transaction_rejected_on_submit(ledger: Ledger, txs: TxFactory) -> None:
    with pytest.raises(InvalidTransaction, match="not registered"):
        ledger.submit(txs.decision(1))
    assert ledger.next_seq("hospital-a") == 1


def test_pending_transactions_count_for_seq(ledger: Ledger, txs: TxFactory) -> None:
    first = ledger.submit(txs.register_dataset())
    second = ledger.submit(txs.decision(1))
    assert ledger.next_seq("hospital-a") == 3
    assert second.result(5).leaf_index == first.result(5).leaf_index + 1


def test_close_seals_pending(store: ChainStore, genesis: Genesis, txs: TxFactory) -> None:
    ledger = open_ledger(store, genesis, max_block_transactions=100, max_block_delay_ms=60_000)
    future = ledger.submit(txs.register_dataset())
    ledger.close()
    assert future.result(0).height == 1


def test_submit_after_close_rejected(ledger: Ledger, txs: TxFactory) -> None:
    ledger.close()
    with pytest.raises(ChainError, match="closed"):
        ledger.submit(txs.register_dataset())


def test_reopened_ledger_continues_chain(
    store: ChainStore, genesis: Genesis, txs: TxFactory
) -> None:
    first = open_ledger(store, genesis, max_block_delay_ms=1)
    first.submit_and_wait(txs.register_dataset())
    first.close()
    second = open_ledger(store, genesis, max_block_delay_ms=1)
    inclusion = second.submit_and_wait(txs.decision(1))
    second.close()
    assert (inclusion.height, inclusion.leaf_index) == (2, 1)
    assert decode_header(store.block_at(2).header).header["prev_hash"] == \
        store.block_at(1).block_hash.hex()


def test_block_header_commits_to_config_and_log(populated: Ledger) -> None:
    head = populated.committed
    header = decode_header(populated.store.block_at(head.height).header).header
    assert header["log_size"] == head.frontier.size
    assert header["log_root"] == head.frontier.root().hex()


def test_non_proposer_cannot_open_ledger(store: ChainStore, genesis: Genesis) -> None:
    with pytest.raises(InvalidBlock, match="not an allowed block proposer"):
        Ledger(store, genesis, proposer="research-b", signer=signer_for("research-b"))


def test_corrupted_store_refused(populated: Ledger, genesis: Genesis) -> None:
    populated.close()
    store = populated.store
    connection = store._connection  # type: ignore[attr-defined]
    connection.execute("UPDATE transactions SET envelope = x'00' WHERE leaf_index = 2")
    with pytest.raises(ChainCorrupted, match="block 1, transaction 2"):
        open_ledger(store, genesis)


class FailingStore:
    """Wraps a store and fails every append while `failing` is set."""

    def __init__(self, inner: ChainStore) -> None:
        self.inner = inner
        self.chain_id = inner.chain_id
        self.failing = False

    def append_block(self, block: StoredBlock) -> None:
        if self.failing:
            raise ChainError("disk full")
        self.inner.append_block(block)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_store_failure_fails_waiters_and_resets(
    store: ChainStore, genesis: Genesis, txs: TxFactory
) -> None:
    failing = FailingStore(store)
    ledger = Ledger(failing, genesis, proposer="hospital-a",  # type: ignore[arg-type]
                    signer=signer_for("hospital-a"), max_block_delay_ms=60_000)
    failing.failing = True
    future: Future[Inclusion] = ledger.submit(txs.register_dataset())
    ledger.flush()
    with pytest.raises(ChainError, match="disk full"):
        future.result(5)
    assert ledger.next_seq("hospital-a") == 1
    failing.failing = False
    retry = TxFactory(genesis.chain_id).register_dataset()
    retried = ledger.submit(retry)
    ledger.flush()
    assert retried.result(5).height == 1
    ledger.close()


def test_catch_up_keeps_batch_the_sealer_holds(
    db_path: Path, genesis: Genesis, txs: TxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two ledgers on one SQLite file stand for two processes of one node.
    writer = open_ledger(SqliteChainStore(db_path, genesis.chain_id), genesis,
                         max_block_delay_ms=0)
    writer.submit_and_wait(txs.register_dataset())
    store = SqliteChainStore(db_path, genesis.chain_id)
    ledger = open_ledger(store, genesis, max_block_delay_ms=0)
    new_key = Signer.generate()
    writer.submit_and_wait(txs.make("research-b", "member_key_rotate", {
        "new_key": {"key_id": new_key.key_id, "public_key": new_key.public_key.hex()}}))
    writer.close()
    # Hold catch_up inside its read of the other process's block.
    reading, resume = threading.Event(), threading.Event()
    read_block = store.block_at

    def slow_block_at(height: int) -> StoredBlock:
        if height == 2:
            reading.set()
            assert resume.wait(10)
        return read_block(height)

    monkeypatch.setattr(store, "block_at", slow_block_at)
    catching_up = threading.Thread(target=ledger.catch_up)
    catching_up.start()
    assert reading.wait(10)
    # The sealer takes the first decision while catch_up holds the lock.
    first = ledger.submit(txs.decision(1))
    time.sleep(0.05)
    second = ledger.submit(txs.decision(2))
    resume.set()
    catching_up.join(10)
    inclusions = [first.result(10), second.result(10)]
    assert [item.leaf_index for item in inclusions] == [2, 3]
    assert ledger.next_seq("hospital-a") == ledger.committed.state.next_seq("hospital-a") == 4
    ledger.close()
    assert verify_chain(store, genesis).ok
