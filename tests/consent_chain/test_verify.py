"""Tests for verify_chain: a good chain passes and every kind of tampering is named."""

from __future__ import annotations

import hashlib
import random
import sqlite3

import pytest

from consent_chain.blocks import build_header, decode_header, seal_header
from consent_chain.genesis import Genesis
from consent_chain.ledger import Ledger
from consent_chain.merkle import root_hash
from consent_chain.store import ChainStore, StoredBlock, StoredTransaction
from consent_chain.verify import VerifyReport, replay_chain, verify_chain
from tests.consent_chain.builders import build_genesis, signer_for

BYTES_PER_BLOB = 6


@pytest.fixture
def chain(populated: Ledger) -> ChainStore:
    """The populated store, with the ledger closed so tests own the file."""
    populated.close()
    return populated.store


@pytest.fixture
def raw(chain: ChainStore) -> sqlite3.Connection:
    """The store's own SQLite connection, for writing tampered rows."""
    connection: sqlite3.Connection = chain._connection  # type: ignore[attr-defined]
    return connection


def failure_of(report: VerifyReport) -> tuple[int, int | None]:
    assert not report.ok
    assert report.failure is not None
    return report.failure.height, report.failure.tx_index


def flip_positions(length: int, rng: random.Random) -> list[int]:
    return sorted({0, length - 1, *rng.sample(range(length), min(length, BYTES_PER_BLOB))})


def test_untampered_chain_verifies(chain: ChainStore, genesis: Genesis) -> None:
    report = verify_chain(chain, genesis)
    assert report.ok
    assert (report.blocks_verified, report.log_size) == (4, 10)


def test_empty_chain_verifies(store: ChainStore, genesis: Genesis) -> None:
    assert verify_chain(store, genesis).ok


def test_any_changed_block_byte_is_named(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    rng = random.Random(7)
    for column in ("header", "block_hash", "prev_hash"):
        rows = raw.execute(f"SELECT height, {column} FROM blocks").fetchall()
        for height, original in rows:
            for position in flip_positions(len(original), rng):
                tampered = bytearray(original)
                tampered[position] ^= rng.randrange(1, 256)
                raw.execute(f"UPDATE blocks SET {column} = ? WHERE height = ?",
                            (bytes(tampered), height))
                report = verify_chain(chain, genesis)
                raw.execute(f"UPDATE blocks SET {column} = ? WHERE height = ?",
                            (original, height))
                assert failure_of(report) == (height, None), (column, height, position)


def test_any_changed_transaction_byte_is_named(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    rng = random.Random(11)
    for column in ("envelope", "tx_hash", "leaf_hash"):
        rows = raw.execute(
            f"SELECT leaf_index, height, tx_index, {column} FROM transactions"
        ).fetchall()
        for leaf_index, height, tx_index, original in rows:
            for position in flip_positions(len(original), rng):
                tampered = bytearray(original)
                tampered[position] ^= rng.randrange(1, 256)
                update = f"UPDATE transactions SET {column} = ? WHERE leaf_index = ?"
                raw.execute(update, (bytes(tampered), leaf_index))
                report = verify_chain(chain, genesis)
                raw.execute(update, (original, leaf_index))
                assert failure_of(report) == (height, tx_index), (column, leaf_index, position)


def test_rehashed_transaction_edit_fails_signature(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    stored = chain.transaction_at(1)
    envelope = stored.envelope.replace(b'"request_id":"req-0001"', b'"request_id":"req-9999"')
    assert envelope != stored.envelope
    raw.execute(
        "UPDATE transactions SET envelope = ?, tx_hash = ?, leaf_hash = ? WHERE leaf_index = 1",
        (envelope, hashlib.sha256(envelope).digest(),
         hashlib.sha256(b"\x00" + envelope).digest()),
    )
    report = verify_chain(chain, genesis)
    assert failure_of(report) == (1, 1)
    assert report.failure is not None
    assert "signature does not verify" in report.failure.reason


def test_swapped_blocks_detected(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    raw.execute("UPDATE blocks SET height = -1 WHERE height = 2")
    raw.execute("UPDATE blocks SET height = 2 WHERE height = 3")
    raw.execute("UPDATE blocks SET height = 3 WHERE height = -1")
    assert failure_of(verify_chain(chain, genesis)) == (2, None)


def test_swapped_transactions_detected(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    first, second = chain.transaction_at(1), chain.transaction_at(2)
    update = ("UPDATE transactions SET envelope = ?, tx_hash = ?, leaf_hash = ? "
              "WHERE leaf_index = ?")
    raw.execute(update, (second.envelope, second.tx_hash, second.leaf_hash, 1))
    raw.execute(update, (first.envelope, first.tx_hash, first.leaf_hash, 2))
    report = verify_chain(chain, genesis)
    assert failure_of(report) == (1, 1)
    assert report.failure is not None
    assert "seq" in report.failure.reason


def test_deleted_block_detected(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    raw.execute("DELETE FROM blocks WHERE height = 2")
    report = verify_chain(chain, genesis)
    assert failure_of(report) == (2, None)
    assert report.failure is not None
    assert "missing" in report.failure.reason


def test_deleted_last_block_leaves_extra_transactions(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    raw.execute("DELETE FROM blocks WHERE height = 4")
    report = verify_chain(chain, genesis)
    assert failure_of(report) == (3, None)
    assert report.failure is not None
    assert "store contains 10 transactions" in report.failure.reason


def test_deleted_transaction_detected(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    raw.execute("DELETE FROM transactions WHERE leaf_index = 4")
    report = verify_chain(chain, genesis)
    assert failure_of(report) == (2, None)
    assert report.failure is not None
    assert "tx_count" in report.failure.reason


def test_truncated_chain_still_verifies(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    # NOTE: dropping whole blocks from the end is only detectable against a
    # checkpoint handed out earlier (see test_checkpoints), not by replay.
    raw.execute("DELETE FROM blocks WHERE height = 4")
    raw.execute("DELETE FROM transactions WHERE height = 4")
    report = verify_chain(chain, genesis)
    assert report.ok
    assert report.blocks_verified == 3


def forge_block(chain: ChainStore, genesis: Genesis, signer_name: str, proposer: str) -> None:
    head = chain.head()
    assert head is not None
    previous = decode_header(chain.block_at(head.height).header).header

    leaf = chain.transaction_at(0)
    header = build_header(
        chain_id=genesis.chain_id, height=head.height + 1, prev_hash=head.block_hash,
        time=previous["time"], proposer=proposer, key_id=signer_for(signer_name).key_id,
        config_hash=replay_chain(chain, genesis)[1].state.config_hash(), tx_count=1,
        tx_root=root_hash([leaf.leaf_hash]), log_size=head.log_size + 1,
        log_root=bytes.fromhex(previous["log_root"]),
    )
    sealed = seal_header(signer_for(signer_name), header)
    copied = StoredTransaction(head.log_size, head.height + 1, 0, leaf.tx_hash,
                               leaf.leaf_hash, leaf.envelope)
    chain.append_block(StoredBlock(head.height + 1, sealed.block_hash, head.block_hash,
                                   sealed.encoded, (copied,)))


def test_appended_block_by_outsider_detected(chain: ChainStore, genesis: Genesis) -> None:
    forge_block(chain, genesis, "mallory", "hospital-a")
    report = verify_chain(chain, genesis)
    assert failure_of(report) == (5, None)
    assert report.failure is not None
    assert "not a registered key" in report.failure.reason


def test_appended_block_by_non_proposer_detected(chain: ChainStore, genesis: Genesis) -> None:
    forge_block(chain, genesis, "research-b", "research-b")
    report = verify_chain(chain, genesis)
    assert failure_of(report) == (5, None)
    assert report.failure is not None
    assert "not an allowed block proposer" in report.failure.reason


def test_replayed_transaction_in_proposer_block_detected(
    chain: ChainStore, genesis: Genesis
) -> None:
    forge_block(chain, genesis, "hospital-a", "hospital-a")
    report = verify_chain(chain, genesis)
    assert failure_of(report) == (5, 0)
    assert report.failure is not None
    assert "next seq" in report.failure.reason


def test_other_genesis_rejects_chain(chain: ChainStore) -> None:
    other = build_genesis(("hospital-a", "research-b"))
    assert failure_of(verify_chain(chain, other)) == (1, None)


def test_failure_message_names_position(
    chain: ChainStore, raw: sqlite3.Connection, genesis: Genesis
) -> None:
    raw.execute("UPDATE transactions SET envelope = x'7b7d' WHERE leaf_index = 7")
    report = verify_chain(chain, genesis)
    assert str(report.failure).startswith("block 3, transaction 2: ")
