"""Audit index: the chain's access decisions, searchable by dataset, object, requester and member.

The index (`audit.sqlite` in the node directory) is derived data. `sync`
copies every `access_decision` transaction that the store contains beyond the
last indexed position, so the file can be deleted and rebuilt at any time.
Rows carry only what the chain carries: pseudonyms, object ids, visa ids.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consent_chain.errors import StoreUnavailable
from consent_chain.store import ChainStore
from consent_chain.store_sqlite import open_database
from consent_chain.transactions import decode_transaction

AUDIT_FILE = "audit.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexed (id INTEGER PRIMARY KEY CHECK (id = 1), log_size INTEGER);
CREATE TABLE IF NOT EXISTS decisions (
    leaf_index INTEGER PRIMARY KEY,
    height INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    requester TEXT NOT NULL,
    member TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_dataset ON decisions (dataset_id, leaf_index);
CREATE INDEX IF NOT EXISTS decisions_by_object ON decisions (object_id, leaf_index);
CREATE INDEX IF NOT EXISTS decisions_by_requester ON decisions (requester, leaf_index);
"""
_MEMBER_INDEX = "CREATE INDEX IF NOT EXISTS decisions_by_member ON decisions (member, leaf_index);"
# Index files written before decisions had a member column; being derived
# data, they are dropped and rebuilt from the store.
_OLD_INDEX_RESET = "DROP TABLE IF EXISTS decisions; DROP TABLE IF EXISTS indexed;"


@dataclass(frozen=True)
class AuditQuery:
    """Filters (all optional, combined with AND) and a page: rows after `after_leaf`."""

    dataset_id: str | None = None
    object_id: str | None = None
    requester: str | None = None
    member: str | None = None
    object_prefixes: tuple[str, ...] | None = None
    after_leaf: int = -1
    limit: int = 100


@dataclass(frozen=True)
class AuditPage:
    """Matching decisions in log order, and the leaf index to continue after (None at the end)."""

    decisions: list[dict[str, Any]]
    next_after: int | None


class AuditIndex:
    """SQLite index over the access decisions of one chain store."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # The index is rebuilt from the chain store, so it needs no synchronous=FULL.
        self._connection = open_database(self.path, _SCHEMA, "audit index", durable=False)
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(decisions)")}
        if "member" not in columns:
            self._connection.executescript(_OLD_INDEX_RESET + _SCHEMA)
        self._connection.executescript(_MEMBER_INDEX)

    def sync(self, store: ChainStore) -> int:
        """Index the decisions stored since the last sync; return the indexed log size."""
        head = store.head()
        target = 0 if head is None else head.log_size
        with self._lock:
            try:
                return self._sync_locked(store, target)
            except sqlite3.Error as error:
                raise StoreUnavailable(f"audit index {self.path} failed: {error}") from error

    def _sync_locked(self, store: ChainStore, target: int) -> int:
        row = self._connection.execute("SELECT log_size FROM indexed WHERE id = 1").fetchone()
        done = 0 if row is None else int(row[0])
        if done >= target:
            return done
        rows = []
        for leaf_index in range(done, target):
            stored = store.transaction_at(leaf_index)
            tx = decode_transaction(stored.envelope)
            if tx.type != "access_decision":
                continue
            payload = tx.payload
            rows.append((leaf_index, stored.height, stored.tx_hash.hex(),
                         payload["consent"]["dataset_id"], payload["object_id"],
                         payload["requester"], tx.member, json.dumps(payload, sort_keys=True)))
        self._connection.execute("BEGIN IMMEDIATE")
        self._connection.executemany(
            "INSERT OR REPLACE INTO decisions (leaf_index, height, tx_hash, dataset_id, "
            "object_id, requester, member, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        self._connection.execute(
            "INSERT INTO indexed (id, log_size) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET log_size = excluded.log_size", (target,)
        )
        self._connection.execute("COMMIT")
        return target

    def query(self, query: AuditQuery) -> AuditPage:
        """Return one page of decisions matching `query`, oldest first."""
        clauses, params = _where(query)
        sql = ("SELECT leaf_index, height, tx_hash, member, payload FROM decisions WHERE "
               + " AND ".join(clauses) + " ORDER BY leaf_index LIMIT ?")
        with self._lock:
            try:
                rows = self._connection.execute(sql, [*params, query.limit + 1]).fetchall()
            except sqlite3.Error as error:
                raise StoreUnavailable(f"audit index {self.path} failed: {error}") from error
        page = [_decision(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        return AuditPage(page, int(rows[query.limit - 1][0]) if more else None)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()


def _where(query: AuditQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = ["leaf_index > ?"]
    params: list[Any] = [query.after_leaf]
    for column, value in (("dataset_id", query.dataset_id), ("object_id", query.object_id),
                          ("requester", query.requester), ("member", query.member)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.object_prefixes is not None:
        clauses.append(_prefix_clause(query.object_prefixes))
        for prefix in query.object_prefixes:
            params.extend((prefix, prefix))
    return clauses, params


def _prefix_clause(prefixes: Sequence[str]) -> str:
    if not prefixes:
        return "0"
    tests = ["substr(object_id, 1, length(?)) = ?" for _ in prefixes]
    return "(" + " OR ".join(tests) + ")"


def _decision(row: tuple[int, int, str, str, str]) -> dict[str, Any]:
    leaf_index, height, tx_hash, member, payload = row
    return {"tx_hash": tx_hash, "leaf_index": leaf_index, "block_height": height,
            "member": member, **json.loads(payload)}
