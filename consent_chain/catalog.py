"""Off-chain consent catalog: which objects belong to which dataset and participant.

The chain records consent per dataset and withdrawals per participant
pseudonym, but never object names next to participants. This SQLite file
(`catalog.sqlite` in the node directory) contains the links:

- each dataset's ControlledAccessGrants URL and its object id prefixes;
- for each withdrawn participant, the object id prefixes of their samples, or
  a record that this node serves none of their objects.

Deleting a participant's rows, together with the pseudonym secret, leaves
nothing that links the chain back to them. Every call opens a fresh read, so
a change made by another process counts from the next request.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from consent_chain.errors import ChainError, StoreUnavailable
from consent_chain.store_sqlite import open_database

logger = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (dataset_id TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dataset_objects (
    prefix TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets (dataset_id)
);
CREATE TABLE IF NOT EXISTS participant_objects (
    dataset_id TEXT NOT NULL,
    participant TEXT NOT NULL,
    prefix TEXT NOT NULL,
    PRIMARY KEY (dataset_id, participant, prefix)
);
CREATE TABLE IF NOT EXISTS participants_without_objects (
    dataset_id TEXT NOT NULL,
    participant TEXT NOT NULL,
    PRIMARY KEY (dataset_id, participant)
);
"""

# An object matches a prefix when its id starts with it; the longest match wins.
_MATCHES = "substr(?1, 1, length(prefix)) = prefix"


class CatalogError(ChainError):
    """A catalog change conflicts with what is stored (unknown dataset, prefix in use)."""


@dataclass(frozen=True)
class CatalogDataset:
    """A dataset's grant URL and object prefixes."""

    dataset_id: str
    url: str
    prefixes: tuple[str, ...]


class ConsentCatalog:
    """Object-to-dataset and object-to-participant links, kept off chain."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection = open_database(self.path, _SCHEMA, "consent catalog", durable=True)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self._connection
                except BaseException:
                    self._connection.execute("ROLLBACK")
                    raise
                self._connection.execute("COMMIT")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"consent catalog {self.path} failed: {error}") from error

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._connection
            except sqlite3.Error as error:
                raise StoreUnavailable(f"consent catalog {self.path} failed: {error}") from error

    def check_dataset(self, dataset_id: str, url: str | None, prefixes: Sequence[str]) -> None:
        """Raise CatalogError if `set_dataset` with these values would fail; change nothing.

        Commands call this before they commit a transaction to the chain, so
        a bad prefix is reported before the chain records the dataset.
        """
        with self._read() as connection:
            _check_change(connection, dataset_id, url, prefixes)

    def set_dataset(self, dataset_id: str, url: str | None, prefixes: Sequence[str]) -> None:
        """Create or change a dataset's URL and add object prefixes to it."""
        with self._transaction() as connection:
            current_url = _check_change(connection, dataset_id, url, prefixes)
            connection.execute(
                "INSERT INTO datasets (dataset_id, url) VALUES (?1, ?2) "
                "ON CONFLICT (dataset_id) DO UPDATE SET url = ?2",
                (dataset_id, url if url is not None else current_url),
            )
            for prefix in prefixes:
                _add_prefix(connection, dataset_id, prefix)
        logger.info("catalog dataset=%s prefixes=%d", dataset_id, len(prefixes))

    def add_participant_objects(
        self, dataset_id: str, participant: str, prefixes: Sequence[str]
    ) -> None:
        """Link object prefixes of one participant (by pseudonym) within a dataset.

        Each prefix must match only objects that resolve to this dataset, so a
        typo or a nested dataset cannot leave the participant's objects
        unmatched and served.
        """
        if not prefixes:
            raise CatalogError("a participant needs at least one object prefix")
        with self._transaction() as connection:
            _dataset_prefixes(connection, dataset_id)
            owners = _prefix_owners(connection)
            for prefix in prefixes:
                _check_participant_prefix(dataset_id, prefix, owners)
            connection.executemany(
                "INSERT OR IGNORE INTO participant_objects (dataset_id, participant, prefix) "
                "VALUES (?, ?, ?)",
                [(dataset_id, participant, prefix) for prefix in prefixes],
            )
            connection.execute(
                "DELETE FROM participants_without_objects WHERE dataset_id = ? AND participant = ?",
                (dataset_id, participant),
            )

    def add_participant_without_objects(self, dataset_id: str, participant: str) -> None:
        """Record that none of this node's objects in a dataset belong to the participant."""
        with self._transaction() as connection:
            _dataset_prefixes(connection, dataset_id)
            linked = connection.execute(
                "SELECT prefix FROM participant_objects WHERE dataset_id = ? AND participant = ? "
                "ORDER BY prefix",
                (dataset_id, participant),
            ).fetchall()
            if linked:
                listed = " ".join(str(row[0]) for row in linked)
                raise CatalogError(f"participant {participant} already has object prefixes "
                                   f"{listed} in dataset {dataset_id!r}")
            connection.execute(
                "INSERT OR IGNORE INTO participants_without_objects (dataset_id, participant) "
                "VALUES (?, ?)",
                (dataset_id, participant),
            )

    def dataset(self, dataset_id: str) -> CatalogDataset | None:
        """Return one dataset, or None if the catalog does not list it."""
        with self._read() as connection:
            row = connection.execute(
                "SELECT url FROM datasets WHERE dataset_id = ?", (dataset_id,)
            ).fetchone()
            if row is None:
                return None
            prefixes = connection.execute(
                "SELECT prefix FROM dataset_objects WHERE dataset_id = ? ORDER BY prefix",
                (dataset_id,),
            ).fetchall()
        return CatalogDataset(dataset_id, str(row[0]), tuple(str(item[0]) for item in prefixes))

    def dataset_for_object(self, object_id: str) -> CatalogDataset | None:
        """Return the dataset whose longest object prefix matches `object_id`, if any."""
        with self._read() as connection:
            row = connection.execute(
                f"SELECT dataset_id FROM dataset_objects WHERE {_MATCHES} "
                "ORDER BY length(prefix) DESC LIMIT 1",
                (object_id,),
            ).fetchone()
        return None if row is None else self.dataset(str(row[0]))

    def participants_for_object(self, dataset_id: str, object_id: str) -> list[str]:
        """Return the pseudonyms of participants whose object prefixes match `object_id`."""
        with self._read() as connection:
            rows = connection.execute(
                f"SELECT DISTINCT participant FROM participant_objects "
                f"WHERE dataset_id = ?2 AND {_MATCHES} ORDER BY participant",
                (object_id, dataset_id),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def unrecorded_participants(
        self, dataset_id: str, participants: Collection[str]
    ) -> tuple[str, ...]:
        """Return, sorted, the pseudonyms in `participants` that the catalog does not record.

        A participant is recorded for a dataset with object prefixes or as
        having no objects on this node. It runs one query for any number of them.
        """
        if not participants:
            return ()
        with self._read() as connection:
            rows = connection.execute(
                "SELECT participant FROM participant_objects WHERE dataset_id = ?1 "
                "UNION SELECT participant FROM participants_without_objects "
                "WHERE dataset_id = ?1",
                (dataset_id,),
            ).fetchall()
        recorded = {str(row[0]) for row in rows}
        return tuple(sorted(set(participants) - recorded))

    def dataset_participants(self, dataset_id: str) -> dict[str, list[str]]:
        """Return each recorded participant of a dataset with their object prefixes, sorted.

        A participant recorded as having no objects on this node maps to [].
        """
        with self._read() as connection:
            rows = connection.execute(
                "SELECT participant, prefix FROM participant_objects WHERE dataset_id = ?1 "
                "UNION ALL SELECT participant, NULL FROM participants_without_objects "
                "WHERE dataset_id = ?1 ORDER BY 1, 2",
                (dataset_id,),
            ).fetchall()
        linked: dict[str, list[str]] = {}
        for participant, prefix in rows:
            prefixes = linked.setdefault(str(participant), [])
            if prefix is not None:
                prefixes.append(str(prefix))
        return linked

    def participant_prefixes(self, participant: str) -> list[str]:
        """Return every object prefix linked to a participant pseudonym, in any dataset."""
        with self._read() as connection:
            rows = connection.execute(
                "SELECT DISTINCT prefix FROM participant_objects WHERE participant = ? "
                "ORDER BY prefix",
                (participant,),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()


def read_dataset_urls(path: Path) -> tuple[str, ...]:
    """Return the dataset URLs of the catalog file at `path`, sorted, opening it read-only.

    Unlike `ConsentCatalog`, this never creates the file or its schema.
    Raises StoreUnavailable if the file cannot be read.
    """
    try:
        # mode=ro fails on a missing file instead of creating it.
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=5.0)
        try:
            rows = connection.execute("SELECT url FROM datasets ORDER BY url").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise StoreUnavailable(f"reading consent catalog {path} failed: {error}") from error
    return tuple(str(row[0]) for row in rows)


def _check_change(
    connection: sqlite3.Connection, dataset_id: str, url: str | None, prefixes: Sequence[str]
) -> str | None:
    """Check a dataset change and return the dataset's current URL (None for a new one)."""
    row = connection.execute(
        "SELECT url FROM datasets WHERE dataset_id = ?", (dataset_id,)
    ).fetchone()
    if row is None and url is None:
        raise CatalogError(f"dataset {dataset_id!r} has no URL yet; pass --url")
    for prefix in prefixes:
        _check_prefix(connection, dataset_id, prefix)
    return None if row is None else str(row[0])


def _check_prefix(connection: sqlite3.Connection, dataset_id: str, prefix: str) -> None:
    if not prefix:
        raise CatalogError("an object prefix must not be empty")
    owner = connection.execute(
        "SELECT dataset_id FROM dataset_objects WHERE prefix = ?", (prefix,)
    ).fetchone()
    if owner is not None and owner[0] != dataset_id:
        raise CatalogError(f"object prefix {prefix!r} already belongs to dataset {owner[0]!r}; "
                           "choose another prefix or update that dataset")
    # Objects resolve to the dataset of their longest prefix, so a new prefix
    # inside another dataset's participant rows would move a withdrawn
    # participant's objects to this dataset, where no row denies them.
    covered_row = connection.execute(
        "SELECT dataset_id, prefix FROM participant_objects "
        "WHERE dataset_id != ?1 AND substr(prefix, 1, length(?2)) = ?2 LIMIT 1",
        (dataset_id, prefix),
    ).fetchone()
    if covered_row is not None:
        raise CatalogError(
            f"object prefix {prefix!r} covers objects of a withdrawn participant of dataset "
            f"{covered_row[0]!r} (prefix {covered_row[1]!r}); choose a prefix outside them"
        )


def _add_prefix(connection: sqlite3.Connection, dataset_id: str, prefix: str) -> None:
    _check_prefix(connection, dataset_id, prefix)
    connection.execute(
        "INSERT OR IGNORE INTO dataset_objects (prefix, dataset_id) VALUES (?, ?)",
        (prefix, dataset_id),
    )


def _dataset_prefixes(connection: sqlite3.Connection, dataset_id: str) -> list[str]:
    """Return the dataset's object prefixes; raise CatalogError if the catalog lacks it."""
    known = connection.execute(
        "SELECT 1 FROM datasets WHERE dataset_id = ?", (dataset_id,)
    ).fetchone()
    if known is None:
        raise CatalogError(f"dataset {dataset_id!r} is not in the catalog")
    rows = connection.execute(
        "SELECT prefix FROM dataset_objects WHERE dataset_id = ?", (dataset_id,)
    ).fetchall()
    return [str(row[0]) for row in rows]


def _prefix_owners(connection: sqlite3.Connection) -> dict[str, str]:
    """Return every dataset object prefix with the dataset that owns it."""
    rows = connection.execute("SELECT prefix, dataset_id FROM dataset_objects").fetchall()
    return {str(prefix): str(owner) for prefix, owner in rows}


def _check_participant_prefix(dataset_id: str, prefix: str, owners: dict[str, str]) -> None:
    """Reject a participant prefix unless every object it matches belongs to `dataset_id`.

    Objects resolve to the dataset of their longest matching prefix, so the
    longest dataset prefix covering `prefix` must be this dataset's, and no
    other dataset's prefix may lie inside `prefix`.
    """
    # An empty prefix would match every object of the dataset.
    if not prefix:
        raise CatalogError("an object prefix must not be empty")
    covering = [outer for outer in owners if prefix.startswith(outer)]
    if not covering or owners[max(covering, key=len)] != dataset_id:
        listed = " ".join(sorted(p for p, owner in owners.items() if owner == dataset_id))
        raise CatalogError(f"object prefix {prefix!r} is outside dataset {dataset_id!r}, whose "
                           f"object prefixes are: {listed or 'none'}")
    nested = sorted(inner for inner, owner in owners.items()
                    if owner != dataset_id and inner.startswith(prefix))
    if nested:
        raise CatalogError(
            f"object prefix {prefix!r} also matches objects of dataset {owners[nested[0]]!r} "
            f"(prefix {nested[0]!r}); give a longer prefix that names only this dataset's "
            "objects"
        )
