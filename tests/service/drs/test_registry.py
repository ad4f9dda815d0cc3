"""The SQLite DRS registry stores records, finds them by id or name and rejects conflicts."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from service.drs.objects import NodeAddress
from service.drs.objects import drs_object as render_drs_object
from service.drs.registry import DrsRecord, DrsRegistry, RegistryConflict

RECORD = DrsRecord(
    id="d1.abc", name="a.bam", dataset_id="d1", storage_key="d1/a.bam", size=10,
    created_time="2024-01-02T03:04:05Z", mime_type="application/vnd.ga4gh.bam",
    sha256="0" * 64, md5="1" * 32, format="BAM", index_keys=("d1/a.bam.bai",),
    consent=("DUO:0000042",),
)


@pytest.fixture
def registry(tmp_path: Path) -> DrsRegistry:
    return DrsRegistry.in_state_dir(tmp_path / "state")


def test_add_then_get(registry: DrsRegistry) -> None:
    registry.add(RECORD)
    assert registry.get("d1.abc") == RECORD
    assert registry.find("d1", "a.bam") == RECORD


def test_unknown_id_is_none(registry: DrsRegistry) -> None:
    assert registry.get("nope") is None
    assert registry.find("d1", "nope.bam") is None


@pytest.mark.parametrize("clash", [
    replace(RECORD, name="b.bam", storage_key="d1/b.bam"),
    replace(RECORD, id="d1.other", storage_key="d1/b.bam"),
    replace(RECORD, id="d1.other", name="b.bam"),
], ids=["same id", "same dataset and name", "same storage key"])
def test_conflicts_rejected(registry: DrsRegistry, clash: DrsRecord) -> None:
    registry.add(RECORD)
    with pytest.raises(RegistryConflict, match="conflicts with a registered object"):
        registry.add(clash)


def test_get_many_batches_large_lists(registry: DrsRegistry) -> None:
    for number in range(1000):
        registry.add(replace(RECORD, id=f"d1.{number}", name=f"{number}.bam",
                             storage_key=f"d1/{number}.bam"))
    wanted = [f"d1.{number}" for number in range(1000)] + ["missing"]
    found = registry.get_many(wanted)
    assert len(found) == 1000
    assert registry.totals() == (1000, 10_000)


def test_database_uses_wal(registry: DrsRegistry) -> None:
    registry.add(RECORD)
    with sqlite3.connect(registry.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_second_handle_sees_records(registry: DrsRegistry) -> None:
    registry.add(RECORD)
    assert DrsRegistry(registry.path).get(RECORD.id) == RECORD


def test_replace_consent_updates_record(registry: DrsRegistry) -> None:
    registry.add(RECORD)

    registry.replace_consent(RECORD.id, ("DUO:0000006", "DUO:0000019"))

    assert registry.get(RECORD.id) == replace(RECORD, consent=("DUO:0000006", "DUO:0000019"))


@pytest.mark.parametrize(("consent", "description"), [
    (("DUO:0000042",), "Data use: GRU (DUO:0000042)"),
    (("DUO:0000006", "DUO:0000045"), "Data use: HMB (DUO:0000006), NPU (DUO:0000045)"),
])
def test_drs_object_describes_consent(consent: tuple[str, ...], description: str) -> None:
    address = NodeAddress("drs.example.org", "https://drs.example.org")

    drs_object = render_drs_object(replace(RECORD, consent=consent), address)

    assert drs_object["description"] == description


def test_drs_object_without_consent_has_no_description() -> None:
    address = NodeAddress("drs.example.org", "https://drs.example.org")

    drs_object = render_drs_object(replace(RECORD, consent=()), address)

    assert "description" not in drs_object
