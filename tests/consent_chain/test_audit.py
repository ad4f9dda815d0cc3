"""The audit index: decisions with the member that recorded them, and old index files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from consent_chain.audit import AuditIndex, AuditQuery
from consent_chain.ledger import Ledger

# The decisions table before it had a member column.
OLD_SCHEMA = """
CREATE TABLE indexed (id INTEGER PRIMARY KEY CHECK (id = 1), log_size INTEGER);
CREATE TABLE decisions (
    leaf_index INTEGER PRIMARY KEY, height INTEGER NOT NULL, tx_hash TEXT NOT NULL,
    dataset_id TEXT NOT NULL, object_id TEXT NOT NULL, requester TEXT NOT NULL,
    payload TEXT NOT NULL
);
INSERT INTO indexed VALUES (1, 3);
"""


def test_decisions_name_their_member(populated: Ledger, tmp_path: Path) -> None:
    index = AuditIndex(tmp_path / "audit.sqlite")
    index.sync(populated.store)
    decisions = index.query(AuditQuery()).decisions
    assert decisions
    assert {row["member"] for row in decisions} == {"hospital-a"}
    assert index.query(AuditQuery(member="hospital-a")).decisions == decisions
    assert index.query(AuditQuery(member="research-b")).decisions == []
    index.close()


def test_old_index_file_is_rebuilt(populated: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(OLD_SCHEMA)
    connection.close()
    index = AuditIndex(path)
    assert index.sync(populated.store) == populated.committed.frontier.size
    assert index.query(AuditQuery(member="hospital-a")).decisions
    index.close()
