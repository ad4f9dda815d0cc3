"""SQLite chain store: one file per chain, WAL journal, synchronous=FULL.

Each append runs in one BEGIN IMMEDIATE transaction and returns after COMMIT,
which with synchronous=FULL has synced the WAL to disk. A crash before
COMMIT leaves the previous head intact.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from consent_chain.errors import BlockNotFound, StoreConflict, StoreUnavailable
from consent_chain.store import ChainHead, StoredBlock, StoredTransaction

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY,
    block_hash BLOB NOT NULL,
    prev_hash BLOB NOT NULL,
    header BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    leaf_index INTEGER PRIMARY KEY,
    height INTEGER NOT NULL,
    tx_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    envelope BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_by_hash ON transactions (tx_hash);
CREATE INDEX IF NOT EXISTS transactions_by_block ON transactions (height, tx_index);
"""

_TX_COLUMNS = "leaf_index, height, tx_index, tx_hash, leaf_hash, envelope"



def open_database(
    path: Path, schema: str, description: str, *, durable: bool
) -> sqlite3.Connection:
    """Open a WAL-mode SQLite file that threads share and create its schema.

    `durable` adds `synchronous=FULL`, so a commit survives power loss; indexes
    that can be rebuilt skip it. Raises StoreUnavailable naming `description`.
    """
    try:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=30.0)
        connection.execute("PRAGMA journal_mode=WAL")
        if durable:
            connection.execute("PRAGMA synchronous=FULL")
        connection.executescript(schema)
    except sqlite3.Error as error:
        raise StoreUnavailable(f"cannot open {description} {path}: {error}") from error
    return connection

class SqliteChainStore:
    """A `ChainStore` in one SQLite file; safe to share between threads of one process."""

    def __init__(self, path: Path | str, chain_id: str) -> None:
        self.chain_id = chain_id
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection = open_database(self.path, _SCHEMA, "chain store", durable=True)
        try:
            self._check_chain_id()
        except sqlite3.Error as error:
            raise StoreUnavailable(f"cannot open chain store {self.path}: {error}") from error
        logger.info("opened chain store path=%s chain_id=%s", self.path, chain_id)

    def _check_chain_id(self) -> None:
        with self._write() as connection:
            row = connection.execute("SELECT value FROM meta WHERE name = 'chain_id'").fetchone()
            if row is None:
                connection.execute(
                    "INSERT INTO meta (name, value) VALUES ('chain_id', ?), ('schema', ?)",
                    (self.chain_id, SCHEMA_VERSION),
                )
            elif row[0] != self.chain_id:
                raise StoreConflict(
                    f"{self.path} stores chain {row[0]}, not {self.chain_id}; "
                    "open the file that belongs to this genesis"
                )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
                self._connection.execute("COMMIT")
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise

    def head(self) -> ChainHead | None:
        """Return the newest block's position, or None for an empty chain."""
        with self._read() as connection:
            return self._head(connection)

    @staticmethod
    def _head(connection: sqlite3.Connection) -> ChainHead | None:
        row = connection.execute(
            "SELECT height, block_hash FROM blocks ORDER BY height DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        (log_size,) = connection.execute(
            "SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM transactions"
        ).fetchone()
        return ChainHead(height=row[0], block_hash=bytes(row[1]), log_size=log_size)

    def append_block(self, block: StoredBlock) -> None:
        """Durably append `block` after the head; raise StoreConflict if it does not link."""
        try:
            with self._write() as connection:
                self._check_link(self._head(connection), block)
                self._insert_block(connection, block)
                self._insert_transactions(connection, block)
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f"appending block {block.height} to {self.path} failed: {error}"
            ) from error
        logger.debug("appended block height=%d txs=%d", block.height, len(block.transactions))

    def _check_link(self, head: ChainHead | None, block: StoredBlock) -> None:
        expected_height = 1 if head is None else head.height + 1
        expected_prev = bytes.fromhex(self.chain_id) if head is None else head.block_hash
        first_leaf = 0 if head is None else head.log_size
        if block.height != expected_height:
            raise StoreConflict(f"block height {block.height} is not the next height "
                                f"{expected_height}; reload the head and rebuild the block")
        if block.prev_hash != expected_prev:
            raise StoreConflict(f"block {block.height} prev_hash {block.prev_hash.hex()} "
                                f"does not match the head hash {expected_prev.hex()}")
        if not block.transactions:
            raise StoreConflict(f"block {block.height} has no transactions")
        for offset, tx in enumerate(block.transactions):
            position = (tx.leaf_index, tx.height, tx.tx_index)
            if position != (first_leaf + offset, block.height, offset):
                raise StoreConflict(
                    f"transaction {offset} of block {block.height} has position {position}, "
                    f"expected {(first_leaf + offset, block.height, offset)}"
                )

    @staticmethod
    def _insert_block(connection: sqlite3.Connection, block: StoredBlock) -> None:
        connection.execute(
            "INSERT INTO blocks (height, block_hash, prev_hash, header) VALUES (?, ?, ?, ?)",
            (block.height, block.block_hash, block.prev_hash, block.header),
        )

    @staticmethod
    def _insert_transactions(connection: sqlite3.Connection, block: StoredBlock) -> None:
        connection.executemany(
            f"INSERT INTO transactions ({_TX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (tx.leaf_index, tx.height, tx.tx_index, tx.tx_hash, tx.leaf_hash, tx.envelope)
                for tx in block.transactions
            ],
        )

    def block_at(self, height: int) -> StoredBlock:
        """Return the block at `height` with its transactions in order."""
        with self._read() as connection:
            row = connection.execute(
                "SELECT height, block_hash, prev_hash, header FROM blocks WHERE height = ?",
                (height,),
            ).fetchone()
            if row is None:
                raise BlockNotFound(f"no block at height {height} in {self.path}")
            rows = connection.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE height = ? ORDER BY tx_index",
                (height,),
            ).fetchall()
        transactions = tuple(_transaction(tx_row) for tx_row in rows)
        return StoredBlock(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]), transactions)

    def transaction_at(self, leaf_index: int) -> StoredTransaction:
        """Return the transaction at log position `leaf_index`."""
        with self._read() as connection:
            row = connection.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE leaf_index = ?", (leaf_index,)
            ).fetchone()
        if row is None:
            raise BlockNotFound(f"no transaction at leaf index {leaf_index} in {self.path}")
        return _transaction(row)

    def find_transaction(self, tx_hash: bytes) -> StoredTransaction | None:
        """Return the transaction with `tx_hash`, or None if it is not stored."""
        with self._read() as connection:
            row = connection.execute(
                f"SELECT {_TX_COLUMNS} FROM transactions WHERE tx_hash = ? "
                "ORDER BY leaf_index LIMIT 1",
                (tx_hash,),
            ).fetchone()
        return None if row is None else _transaction(row)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the leaf hashes of log positions [start, end) in order."""
        with self._read() as connection:
            rows = connection.execute(
                "SELECT leaf_hash FROM transactions WHERE leaf_index >= ? AND leaf_index < ? "
                "ORDER BY leaf_index",
                (start, end),
            ).fetchall()
        if len(rows) != max(end - start, 0):
            raise BlockNotFound(f"leaf hashes [{start}, {end}) are not all stored in {self.path}")
        return [bytes(row[0]) for row in rows]

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._connection
            except sqlite3.Error as error:
                raise StoreUnavailable(f"reading {self.path} failed: {error}") from error

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()
        logger.info("closed chain store path=%s", self.path)


def _transaction(row: tuple[int, int, int, bytes, bytes, bytes]) -> StoredTransaction:
    leaf_index, height, tx_index, tx_hash, leaf_hash, envelope = row
    return StoredTransaction(
        leaf_index, height, tx_index, bytes(tx_hash), bytes(leaf_hash), bytes(envelope)
    )
