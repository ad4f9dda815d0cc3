"""The off-chain catalog's participant records: object prefixes, no objects, unrecorded ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from consent_chain.catalog import CatalogError, ConsentCatalog

URL = "https://data.example.org/datasets/DS1"
P7, P8, P9 = "07" * 32, "08" * 32, "09" * 32

# The catalog schema before participants without objects could be recorded.
OLD_SCHEMA = """
CREATE TABLE datasets (dataset_id TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE dataset_objects (
    prefix TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets (dataset_id)
);
CREATE TABLE participant_objects (
    dataset_id TEXT NOT NULL,
    participant TEXT NOT NULL,
    prefix TEXT NOT NULL,
    PRIMARY KEY (dataset_id, participant, prefix)
);
"""


@pytest.fixture
def ds1(catalog: ConsentCatalog) -> ConsentCatalog:
    """The catalog with dataset DS1 under the object prefix `ds1/`."""
    catalog.set_dataset("DS1", URL, ["ds1/"])
    return catalog


def test_unrecorded_lists_only_unknown_pseudonyms(ds1: ConsentCatalog) -> None:
    ds1.add_participant_objects("DS1", P7, ["ds1/p7."])
    assert ds1.unrecorded_participants("DS1", {P9, P7, P8}) == (P8, P9)


def test_unrecorded_is_per_dataset(ds1: ConsentCatalog) -> None:
    ds1.set_dataset("DS2", URL + "2", ["ds2/"])
    ds1.add_participant_objects("DS2", P7, ["ds2/p7."])
    assert ds1.unrecorded_participants("DS1", {P7}) == (P7,)


def test_participant_without_objects_is_recorded(ds1: ConsentCatalog) -> None:
    ds1.add_participant_without_objects("DS1", P7)
    assert ds1.unrecorded_participants("DS1", {P7}) == ()
    assert ds1.participants_for_object("DS1", "ds1/p7.bam") == []


def test_empty_participant_prefix_is_rejected(ds1: ConsentCatalog) -> None:
    with pytest.raises(CatalogError, match="must not be empty"):
        ds1.add_participant_objects("DS1", P7, [""])
    assert ds1.participants_for_object("DS1", "ds1/any.bam") == []
    assert ds1.unrecorded_participants("DS1", {P7}) == (P7,)


def test_participant_needs_a_prefix(ds1: ConsentCatalog) -> None:
    with pytest.raises(CatalogError, match="at least one object prefix"):
        ds1.add_participant_objects("DS1", P7, [])


def test_participant_prefix_outside_dataset_is_rejected(ds1: ConsentCatalog) -> None:
    with pytest.raises(CatalogError, match=r"outside dataset 'DS1'.*: ds1/$"):
        ds1.add_participant_objects("DS1", P7, ["ds1/p7.", "other/p7."])
    assert ds1.unrecorded_participants("DS1", {P7}) == (P7,)


def test_participant_prefix_in_nested_dataset_is_rejected(ds1: ConsentCatalog) -> None:
    ds1.set_dataset("DS2", URL, ["ds1/b/"])
    with pytest.raises(CatalogError, match="outside dataset 'DS1'"):
        ds1.add_participant_objects("DS1", P7, ["ds1/b/p7"])
    assert ds1.participants_for_object("DS2", "ds1/b/p7.bam") == []


def test_participant_prefix_spanning_nested_dataset_is_rejected(ds1: ConsentCatalog) -> None:
    ds1.set_dataset("DS2", URL, ["ds1/b/"])
    with pytest.raises(CatalogError, match="also matches objects of dataset 'DS2'"):
        ds1.add_participant_objects("DS1", P7, ["ds1/"])
    ds1.add_participant_objects("DS1", P7, ["ds1/a/"])
    assert ds1.participants_for_object("DS1", "ds1/a/p7.bam") == [P7]


def test_dataset_prefix_over_participant_rows_is_rejected(ds1: ConsentCatalog) -> None:
    ds1.add_participant_objects("DS1", P7, ["ds1/b/p7"])
    with pytest.raises(CatalogError, match="covers objects of a withdrawn participant"):
        ds1.set_dataset("DS2", URL, ["ds1/b/"])
    entry = ds1.dataset_for_object("ds1/b/p7.bam")
    assert entry is not None
    assert entry.dataset_id == "DS1"


def test_participant_of_unknown_dataset_is_rejected(catalog: ConsentCatalog) -> None:
    with pytest.raises(CatalogError, match="not in the catalog"):
        catalog.add_participant_without_objects("DS9", P7)


def test_no_objects_after_objects_is_rejected(ds1: ConsentCatalog) -> None:
    ds1.add_participant_objects("DS1", P7, ["ds1/p7."])
    with pytest.raises(CatalogError, match=r"already has object prefixes ds1/p7\. "):
        ds1.add_participant_without_objects("DS1", P7)
    assert ds1.participants_for_object("DS1", "ds1/p7.bam") == [P7]


def test_objects_after_no_objects_replace_it(ds1: ConsentCatalog) -> None:
    ds1.add_participant_without_objects("DS1", P7)
    ds1.add_participant_objects("DS1", P7, ["ds1/p7."])
    assert ds1.dataset_participants("DS1") == {P7: ["ds1/p7."]}
    assert ds1.participants_for_object("DS1", "ds1/p7.bam") == [P7]


def test_dataset_participants_lists_prefixes_and_none(ds1: ConsentCatalog) -> None:
    ds1.add_participant_objects("DS1", P8, ["ds1/p8.b", "ds1/p8.a"])
    ds1.add_participant_without_objects("DS1", P7)
    assert ds1.dataset_participants("DS1") == {P7: [], P8: ["ds1/p8.a", "ds1/p8.b"]}


def test_catalog_of_old_schema_opens_and_records(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(OLD_SCHEMA)
        connection.execute("INSERT INTO datasets VALUES ('DS1', ?)", (URL,))
        connection.execute("INSERT INTO dataset_objects VALUES ('ds1/', 'DS1')")
        connection.execute("INSERT INTO participant_objects VALUES ('DS1', ?, 'ds1/p7.')", (P7,))
    connection.close()

    catalog = ConsentCatalog(path)
    try:
        assert catalog.unrecorded_participants("DS1", {P7, P8}) == (P8,)
        catalog.add_participant_without_objects("DS1", P8)
        assert catalog.unrecorded_participants("DS1", {P7, P8}) == ()
    finally:
        catalog.close()
