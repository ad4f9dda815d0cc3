"""The DRS object registry: one SQLite database of ingested objects, `{state_dir}/drs.sqlite`.

Ingest writes to it and every node process reads it. The database runs in
WAL mode, so readers never block the writer. Each thread keeps its own
connection, because a sqlite3 connection must not be shared across threads.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

REGISTRY_FILE = "drs.sqlite"
BUSY_TIMEOUT_SECONDS = 10.0
# SQLite before 3.32 allows at most 999 bound parameters in one statement.
_MAX_PARAMETERS = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS drs_object (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    created_time TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    format TEXT,
    index_keys TEXT NOT NULL,
    consent TEXT NOT NULL,
    UNIQUE (dataset_id, name)
)
"""
_COLUMNS = (
    "id, name, dataset_id, storage_key, size, created_time, mime_type, sha256, md5, "
    "format, index_keys, consent"
)


class RegistryConflict(Exception):
    """An object with the same id, storage key, or dataset and name is already registered."""


@dataclass(frozen=True)
class DrsRecord:
    """One registered object.

    `format` is BAM, CRAM, VCF or BCF for files htsget can serve, else None.
    `consent` lists the DUO codes recorded at ingest.
    """

    id: str
    name: str
    dataset_id: str
    storage_key: str
    size: int
    created_time: str
    mime_type: str
    sha256: str
    md5: str
    format: str | None = None
    index_keys: tuple[str, ...] = ()
    consent: tuple[str, ...] = ()


class DrsRegistry:
    """Store and look up DRS records in a SQLite database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as connection:
            connection.execute(_SCHEMA)

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> DrsRegistry:
        """Open (creating if needed) the registry of the node whose state is in `state_dir`."""
        return cls(state_dir / REGISTRY_FILE)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def add(self, record: DrsRecord) -> None:
        """Insert `record`; raise RegistryConflict if its id, key or name is taken."""
        row = (
            record.id, record.name, record.dataset_id, record.storage_key, record.size,
            record.created_time, record.mime_type, record.sha256, record.md5, record.format,
            json.dumps(list(record.index_keys)), json.dumps(list(record.consent)),
        )
        try:
            with self._connection() as connection:
                connection.execute(
                    f"INSERT INTO drs_object ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row
                )
        except sqlite3.IntegrityError as exc:
            raise RegistryConflict(
                f"object {record.id!r} ({record.dataset_id}/{record.name}) conflicts with a "
                f"registered object: {exc}"
            ) from exc
        logger.info("registered DRS object id=%s dataset=%s name=%s size=%d",
                    record.id, record.dataset_id, record.name, record.size)

    def replace_consent(self, object_id: str, consent: tuple[str, ...]) -> None:
        """Replace the DUO codes recorded for the object `object_id`."""
        with self._connection() as connection:
            connection.execute(
                "UPDATE drs_object SET consent = ? WHERE id = ?",
                (json.dumps(list(consent)), object_id),
            )

    def get(self, object_id: str) -> DrsRecord | None:
        """Return the record with id `object_id`, or None."""
        return self.get_many([object_id]).get(object_id)

    def get_many(self, object_ids: Iterable[str]) -> dict[str, DrsRecord]:
        """Return the records of the ids that exist, keyed by id, in as few queries as possible."""
        wanted = list(dict.fromkeys(object_ids))
        found: dict[str, DrsRecord] = {}
        connection = self._connection()
        for first in range(0, len(wanted), _MAX_PARAMETERS):
            batch = wanted[first : first + _MAX_PARAMETERS]
            marks = ",".join("?" * len(batch))
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM drs_object WHERE id IN ({marks})", batch
            ).fetchall()
            found.update((row[0], _record(row)) for row in rows)
        return found

    def find(self, dataset_id: str, name: str) -> DrsRecord | None:
        """Return the record named `name` in dataset `dataset_id`, or None."""
        row = self._connection().execute(
            f"SELECT {_COLUMNS} FROM drs_object WHERE dataset_id = ? AND name = ?",
            (dataset_id, name),
        ).fetchone()
        return None if row is None else _record(row)

    def totals(self) -> tuple[int, int]:
        """Return the number of registered objects and the sum of their sizes in bytes."""
        count, size = self._connection().execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM drs_object"
        ).fetchone()
        return int(count), int(size)


def _record(row: tuple[object, ...]) -> DrsRecord:
    (object_id, name, dataset_id, key, size, created, mime, sha256, md5, fmt, indexes,
     consent) = row
    return DrsRecord(
        id=str(object_id), name=str(name), dataset_id=str(dataset_id), storage_key=str(key),
        size=int(str(size)), created_time=str(created), mime_type=str(mime), sha256=str(sha256),
        md5=str(md5), format=None if fmt is None else str(fmt),
        index_keys=tuple(json.loads(str(indexes))), consent=tuple(json.loads(str(consent))),
    )
