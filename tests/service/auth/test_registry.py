"""Subject registry of the embedded broker: JSON file, atomic replace, mode 0600."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.auth.broker import BrokerSubject
from service.auth.registry import RegistryError, SubjectRegistry

DATASET = "https://data.example.org/datasets/EGAD00000000001"


def test_subject_round_trip(tmp_path: Path) -> None:
    registry = SubjectRegistry(tmp_path)
    registry.put(BrokerSubject("alice", (DATASET,), "faculty@uni.example.org", True))

    subject = SubjectRegistry(tmp_path).get("alice")

    assert subject == BrokerSubject("alice", (DATASET,), "faculty@uni.example.org", True)


def test_unknown_subject_is_none(tmp_path: Path) -> None:
    assert SubjectRegistry(tmp_path).get("nobody") is None


def test_put_replaces_entry(tmp_path: Path) -> None:
    registry = SubjectRegistry(tmp_path)
    registry.put(BrokerSubject("alice", (DATASET,)))
    registry.put(BrokerSubject("alice", ()))
    registry.put(BrokerSubject("bob", (DATASET,)))

    alice = registry.get("alice")

    assert alice is not None
    assert alice.grants == ()
    assert registry.get("bob") is not None


def test_file_private_and_no_temporaries(tmp_path: Path) -> None:
    SubjectRegistry(tmp_path).put(BrokerSubject("alice", (DATASET,)))

    assert (tmp_path / "subjects.json").stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob("*.tmp"))


def test_corrupt_file_reported(tmp_path: Path) -> None:
    (tmp_path / "subjects.json").write_text("[1, 2]")

    with pytest.raises(RegistryError) as caught:
        SubjectRegistry(tmp_path).get("alice")

    assert "subjects.json" in str(caught.value)
