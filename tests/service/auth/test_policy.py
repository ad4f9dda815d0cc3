"""Access decisions: exact dataset match, PermissionDenied messages, Registered Access."""

from __future__ import annotations

from typing import Any

import pytest

from service.auth import PermissionDenied, grants_access, require_access
from service.auth.models import AcceptedVisa, Identity, RejectedVisa
from service.auth.policy import (
    MAX_LISTED_REJECTIONS,
    REGISTERED_ACCESS,
    has_registered_access,
    rejection_summary,
)

DATASET = "https://data.example.org/datasets/EGAD00000000001"
NOW = 1_000.0


def accepted(**fields: Any) -> AcceptedVisa:
    values: dict[str, Any] = {
        "type": "ControlledAccessGrants",
        "value": DATASET,
        "source": "https://dac.example.org",
        "by": "dac",
        "iss": "https://visas.example.org",
        "sub": "alice",
        "visa_id": "v1",
        "exp": NOW + 60,
        "asserted": 0.0,
        "identity_group": 0,
    }
    values.update(fields)
    return AcceptedVisa(**values)


def identity(*visas: AcceptedVisa, rejected: tuple[RejectedVisa, ...] = ()) -> Identity:
    return Identity("alice", "https://broker.example.org", "p1", visas, rejected, (), NOW + 60)


def test_exact_value_grants() -> None:
    assert grants_access(identity(accepted()), DATASET, now=NOW)


@pytest.mark.parametrize(
    "dataset",
    [DATASET.upper(), DATASET + "/", DATASET[:-1], "https://data.example.org/datasets/*"],
)
def test_other_values_do_not_grant(dataset: str) -> None:
    assert not grants_access(identity(accepted()), dataset, now=NOW)


def test_other_visa_type_does_not_grant() -> None:
    assert not grants_access(identity(accepted(type="ResearcherStatus")), DATASET, now=NOW)


def test_expired_visa_does_not_grant() -> None:
    assert not grants_access(identity(accepted(exp=NOW)), DATASET, now=NOW)


def test_require_access_names_rejections() -> None:
    rejection = RejectedVisa(0, "sha256:ab", "https://visas.example.org", "token has expired")

    with pytest.raises(PermissionDenied) as caught:
        require_access(identity(rejected=(rejection,)), DATASET, now=NOW)

    assert DATASET in str(caught.value)
    assert ("1 visa rejected: visa sha256:ab from https://visas.example.org: token has expired"
            in str(caught.value))


def test_rejection_summary_names_each_visa() -> None:
    rejections = (
        RejectedVisa(0, "sha256:ab", "https://visas.example.org", "token has expired", jti="j-1"),
        RejectedVisa(2, "sha256:cd", None, "malformed JWS"),
    )

    summary = rejection_summary(identity(rejected=rejections))

    assert summary == ("2 visas rejected: visa jti=j-1 from https://visas.example.org: token "
                       "has expired; visa sha256:cd from an unknown issuer: malformed JWS")


def test_rejection_summary_singular_and_empty() -> None:
    rejection = RejectedVisa(0, "sha256:ab", "https://visas.example.org", "bad", jti="j-1")

    summary = rejection_summary(identity(rejected=(rejection,)))

    assert summary.startswith("1 visa rejected: visa jti=j-1")
    assert rejection_summary(identity()) == ""


def test_rejection_summary_counts_unlisted() -> None:
    rejections = tuple(
        RejectedVisa(index, f"sha256:{index}", None, "bad") for index in range(5)
    )

    summary = rejection_summary(identity(rejected=rejections))

    assert summary.startswith("5 visas rejected: ")
    assert summary.count("visa sha256:") == MAX_LISTED_REJECTIONS
    assert summary.endswith("; and 2 more")


def registered(group: int, by: str | None = "so") -> tuple[AcceptedVisa, AcceptedVisa]:
    status = accepted(type="ResearcherStatus", value=REGISTERED_ACCESS, by=by)
    terms = accepted(type="AcceptedTermsAndPolicies", value=REGISTERED_ACCESS, identity_group=group)
    return status, terms


def test_registered_access_same_person() -> None:
    assert has_registered_access(identity(*registered(group=0)), now=NOW)


def test_registered_access_unlinked_identities() -> None:
    assert not has_registered_access(identity(*registered(group=1)), now=NOW)


def test_registered_access_needs_by() -> None:
    assert not has_registered_access(identity(*registered(group=0, by=None)), now=NOW)
