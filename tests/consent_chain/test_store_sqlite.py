"""SQLite-specific tests: durability settings, reopening, and crashes mid-append."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from consent_chain.errors import StoreConflict, StoreUnavailable
from consent_chain.genesis import Genesis
from consent_chain.ledger import Ledger
from consent_chain.store_sqlite import SqliteChainStore
from consent_chain.verify import verify_chain
from tests.consent_chain.builders import build_genesis
from tests.support import REPO_ROOT

# The child process builds the populated test chain's next block, then dies
# with SIGKILL either inside the append transaction or right after it.
CRASH_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from consent_chain.ledger import Ledger
    from consent_chain.store_sqlite import SqliteChainStore
    from tests.consent_chain.builders import TxFactory, build_genesis, signer_for

    path, mode, next_seq = sys.argv[1], sys.argv[2], int(sys.argv[3])
    genesis = build_genesis()
    store = SqliteChainStore(path, genesis.chain_id)
    if mode == "during":
        original = SqliteChainStore._insert_transactions
        def insert_then_die(connection, block):
            original(connection, block)
            os.kill(os.getpid(), signal.SIGKILL)
        SqliteChainStore._insert_transactions = staticmethod(insert_then_die)
    ledger = Ledger(store, genesis, proposer="hospital-a", signer=signer_for("hospital-a"),
                    max_block_transactions=2, max_block_delay_ms=60_000)
    txs = TxFactory(genesis.chain_id, next_seq={"hospital-a": next_seq})
    futures = [ledger.submit(txs.decision(90)), ledger.submit(txs.decision(91))]
    inclusion = futures[1].result(10)
    print(inclusion.height, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def run_crash(path: Path, mode: str, next_seq: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(path), mode, str(next_seq)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )


def test_pragmas_are_wal_and_full_sync(db_path: Path, genesis: Genesis) -> None:
    store = SqliteChainStore(db_path, genesis.chain_id)
    connection = store._connection
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_other_chain_id_rejected(db_path: Path, genesis: Genesis) -> None:
    SqliteChainStore(db_path, genesis.chain_id).close()
    other = build_genesis(("hospital-a",))
    with pytest.raises(StoreConflict, match="stores chain"):
        SqliteChainStore(db_path, other.chain_id)


def test_closed_store_raises_unavailable(db_path: Path, genesis: Genesis) -> None:
    store = SqliteChainStore(db_path, genesis.chain_id)
    store.close()
    with pytest.raises(StoreUnavailable):
        store.head()


def test_reopened_chain_verifies(populated: Ledger, db_path: Path, genesis: Genesis) -> None:
    populated.close()
    populated.store.close()
    reopened = SqliteChainStore(db_path, genesis.chain_id)
    report = verify_chain(reopened, genesis)
    reopened.close()
    assert report.ok
    assert report.blocks_verified == 4


def test_crash_during_append_keeps_previous_head(
    populated: Ledger, db_path: Path, genesis: Genesis
) -> None:
    next_seq = populated.next_seq("hospital-a")
    populated.close()
    populated.store.close()
    result = run_crash(db_path, "during", next_seq)
    assert result.returncode == -9, result.stderr
    assert result.stdout == ""
    store = SqliteChainStore(db_path, genesis.chain_id)
    report = verify_chain(store, genesis)
    store.close()
    assert report.ok
    assert report.blocks_verified == 4


def test_crash_after_commit_keeps_block(
    populated: Ledger, db_path: Path, genesis: Genesis
) -> None:
    next_seq = populated.next_seq("hospital-a")
    populated.close()
    populated.store.close()
    result = run_crash(db_path, "after", next_seq)
    assert result.returncode == -9, result.stderr
    assert result.stdout.strip() == "5"
    store = SqliteChainStore(db_path, genesis.chain_id)
    report = verify_chain(store, genesis)
    store.close()
    assert report.ok
    assert report.blocks_verified == 5


def test_uncommitted_rows_invisible_after_crash(
    populated: Ledger, db_path: Path, genesis: Genesis
) -> None:
    next_seq = populated.next_seq("hospital-a")
    populated.close()
    populated.store.close()
    run_crash(db_path, "during", next_seq)
    connection = sqlite3.connect(db_path)
    (count,) = connection.execute("SELECT COUNT(*) FROM blocks WHERE height = 5").fetchone()
    connection.close()
    assert count == 0
