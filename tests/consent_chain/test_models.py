"""Tests for payload shape validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from consent_chain.crypto import key_id_for
from consent_chain.models import (
    AccessDecision,
    Consent,
    ConsentWithdraw,
    MemberKeyRotate,
    Region,
    VisaUse,
)
from tests.consent_chain.builders import access_decision, consent, participant, signer_for


def check(model: type[BaseModel], data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(data)


def test_sample_payloads_are_valid() -> None:
    assert Consent.model_validate(consent()).permission == "DUO:0000007"
    assert AccessDecision.model_validate(access_decision(1)).decision == "allow"


def test_disease_specific_needs_mondo_ids() -> None:
    check(Consent, dict(consent(), disease_ids=[]), "needs MONDO")


def test_disease_ids_only_with_disease_specific() -> None:
    check(Consent, dict(consent(), permission="DUO:0000042"), "only allowed with DUO:0000007")


def test_mondo_id_pattern_enforced() -> None:
    check(Consent, dict(consent(), disease_ids=["MONDO:12"]), "pattern")


def test_unknown_duo_code_rejected() -> None:
    check(Consent, dict(consent(), permission="DUO:9999999"), "permission")


def test_repeated_modifier_rejected() -> None:
    check(Consent, dict(consent(), modifiers=["DUO:0000021", "DUO:0000021"]), "repeat")


def test_time_limit_modifier_needs_end() -> None:
    check(Consent, dict(consent(), time_limit={"not_before": 5}), "not_after")


def test_time_limit_must_be_ordered() -> None:
    check(Consent, dict(consent(), time_limit={"not_before": 9, "not_after": 5}), "earlier")


def test_null_field_rejected() -> None:
    check(Consent, dict(consent(), time_limit=None), "omit optional fields")


def test_extra_field_rejected() -> None:
    check(Consent, dict(consent(), note="free text"), "Extra inputs")


def test_strict_types_reject_numeric_strings() -> None:
    check(AccessDecision, dict(access_decision(1), time="5"), "time")


def test_deny_needs_reason() -> None:
    check(AccessDecision, dict(access_decision(1, "deny"), reasons=[]), "reason")


def test_requester_must_be_pseudonym() -> None:
    check(AccessDecision, dict(access_decision(1), requester="alice@example.org"), "requester")


def test_visa_needs_exactly_one_identifier() -> None:
    visa = {"type": "ResearcherStatus", "issuer": "https://issuer.test"}
    check(VisaUse, visa, "exactly one")
    check(VisaUse, dict(visa, jti="a", sha256="0" * 64), "exactly one")


def test_region_start_before_end() -> None:
    check(Region, {"reference_name": "chr1", "start": 10, "end": 10}, "smaller than end")


def test_participant_withdrawal_needs_pseudonym() -> None:
    check(ConsentWithdraw, {"dataset_id": "D1", "scope": "participant"}, "pseudonym")


def test_dataset_withdrawal_names_no_participant() -> None:
    data = {"dataset_id": "D1", "scope": "dataset", "participant": participant("p")}
    check(ConsentWithdraw, data, "must not name")


def test_rotated_key_id_must_match() -> None:
    key = {"key_id": "0" * 16, "public_key": signer_for("x").public_key.hex()}
    check(MemberKeyRotate, {"new_key": key}, "does not match")


@pytest.mark.parametrize(
    "public_key",
    [
        (1).to_bytes(32, "little"),  # the identity point: any message would verify
        bytes(32),  # a point of order 4
        (2**255 - 19 + 1).to_bytes(32, "little"),  # the identity, non-canonically encoded
    ],
)
def test_small_order_or_non_canonical_key_is_refused(public_key: bytes) -> None:
    key = {"key_id": key_id_for(public_key), "public_key": public_key.hex()}
    check(MemberKeyRotate, {"new_key": key}, "not a valid Ed25519 key")
