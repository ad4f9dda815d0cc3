"""Valid passports from an independently minted broker, and what the Identity records."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from service.auth import InvalidAuthentication, grants_access
from service.auth.passport import PassportVerifier
from service.auth.trust import PassportTrust
from tests.service.auth.conftest import (
    BROKER_ISS,
    DATASET,
    DROP,
    SECOND_ISS,
    SUBJECT,
    VISA_ISS,
    JwksServer,
    Minter,
)

AFFILIATION = {"type": "AffiliationAndRole", "value": "faculty@uni.example.org", "by": "so"}


def test_valid_passport_grants_dataset(minter: Minter, verifier: PassportVerifier) -> None:
    identity = verifier.verify(minter.passport())

    assert identity.subject == SUBJECT
    assert identity.issuer == BROKER_ISS
    assert identity.rejected == ()
    assert grants_access(identity, DATASET)


def test_valid_passport_fetches_allowlisted_jwks(
    minter: Minter, verifier: PassportVerifier, jwks_server: JwksServer
) -> None:
    verifier.verify(minter.passport())

    assert jwks_server.hits == ["/broker-jwks", "/visa-jwks"]


def test_accepted_visa_fields(minter: Minter, verifier: PassportVerifier) -> None:
    visa = minter.visa(claims={"jti": "visa-jti-1"})

    (accepted,) = verifier.verify(minter.passport([visa])).accepted

    assert accepted.type == "ControlledAccessGrants"
    assert accepted.iss == VISA_ISS
    assert accepted.by == "dac"
    assert accepted.visa_id == "visa-jti-1"
    assert accepted.exp == minter.now + 3600


def test_visa_without_jti_uses_hash(minter: Minter, verifier: PassportVerifier) -> None:
    (accepted,) = verifier.verify(minter.passport([minter.visa(claims={"jti": DROP})])).accepted

    assert accepted.visa_id.startswith("sha256:")


def test_earliest_exp_is_minimum(minter: Minter, verifier: PassportVerifier) -> None:
    short = minter.visa(claims={"exp": minter.now + 120})

    identity = verifier.verify(minter.passport([minter.visa(), short]))

    assert identity.earliest_exp == minter.now + 120


def test_passport_without_visas(minter: Minter, verifier: PassportVerifier) -> None:
    identity = verifier.verify(minter.passport([]))

    assert identity.accepted == ()
    assert not grants_access(identity, DATASET)


def test_custom_visa_type_ignored(minter: Minter, verifier: PassportVerifier) -> None:
    custom = minter.visa(visa={"type": "https://ras.nih.gov/visas/v1.1", "value": "x"})

    identity = verifier.verify(minter.passport([custom]))

    assert identity.ignored_types == ("https://ras.nih.gov/visas/v1.1",)
    assert identity.rejected == ()
    assert identity.accepted == ()


def test_conditions_met_by_other_visa(minter: Minter, verifier: PassportVerifier) -> None:
    condition = [
        [{"type": "AffiliationAndRole", "value": "const:student@uni.example.org"}],
        [{"type": "AffiliationAndRole", "value": "pattern:faculty@*", "by": "const:so"}],
    ]
    grant = minter.visa(visa={"conditions": condition})
    affiliation = minter.visa(visa=AFFILIATION)

    identity = verifier.verify(minter.passport([grant, affiliation]))

    assert grants_access(identity, DATASET)


def test_linked_identities_allow_conditions(minter: Minter, verifier: PassportVerifier) -> None:
    condition = [[{"type": "AffiliationAndRole", "value": "pattern:faculty@*"}]]
    grant = minter.visa(claims={"sub": "alice-at-visas"}, visa={"conditions": condition})
    link = minter.visa(
        visa={
            "type": "LinkedIdentities",
            "value": "alice-at-visas,https%3A%2F%2Fvisas.example.org;"
            "alice,https%3A%2F%2Fsecond-visas.example.org",
            "source": "https://visas.example.org",
            "by": "system",
        }
    )

    identity = verifier.verify(minter.passport([grant, minter.second_visa(), link]))

    assert grants_access(identity, DATASET)


def test_linked_visas_share_identity_group(minter: Minter, verifier: PassportVerifier) -> None:
    link = minter.second_visa(
        visa={
            "type": "LinkedIdentities",
            "value": f"{SUBJECT},https%3A%2F%2Fvisas.example.org",
            "by": "system",
        }
    )

    identity = verifier.verify(minter.passport([minter.visa(), link]))

    assert identity.are_linked(identity.accepted[0], identity.accepted[1])


def test_unlinked_visas_differ_in_group(minter: Minter, verifier: PassportVerifier) -> None:
    identity = verifier.verify(minter.passport([minter.visa(), minter.second_visa()]))

    assert not identity.are_linked(identity.accepted[0], identity.accepted[1])


def test_recent_visa_access_token_accepted(minter: Minter, verifier: PassportVerifier) -> None:
    fresh = minter.second_visa(claims={"scope": "openid ga4gh_passport_v1"})

    identity = verifier.verify(minter.passport([fresh]))

    assert [visa.iss for visa in identity.accepted] == [SECOND_ISS]


def test_leeway_accepts_small_skew(minter: Minter, verifier: PassportVerifier) -> None:
    token = minter.passport(claims={"iat": minter.now + 30})

    assert verifier.verify(token).subject == SUBJECT


def test_typ_check_can_be_disabled(minter: Minter, trust: PassportTrust) -> None:
    relaxed = PassportVerifier(trust.model_copy(update={"require_passport_typ": False}))

    identity = relaxed.verify(minter.passport(header={"typ": "JWT"}))

    assert identity.subject == SUBJECT


def test_audience_mismatch_rejected(minter: Minter, trust: PassportTrust) -> None:
    strict = PassportVerifier(trust.model_copy(update={"audiences": ("https://consentry.test",)}))

    with pytest.raises(InvalidAuthentication, match="aud"):
        strict.verify(minter.passport(claims={"aud": "https://other.test"}))


def test_audience_match_accepted(minter: Minter, trust: PassportTrust) -> None:
    strict = PassportVerifier(trust.model_copy(update={"audiences": ("https://consentry.test",)}))

    identity = strict.verify(minter.passport(claims={"aud": ["https://consentry.test"]}))

    assert identity.subject == SUBJECT


def test_logs_carry_no_token_or_subject(
    minter: Minter, verifier: PassportVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="service.auth")
    expired = minter.visa(claims={"iat": minter.now - 7200, "exp": minter.now - 3600})
    token = minter.passport([minter.visa(), expired], claims={"jti": "passport-jti-1"})

    verifier.verify(token)

    assert "passport-jti-1" in caplog.text
    for segment in token.split(".") + expired.split("."):
        assert segment not in caplog.text
    assert f"sub={SUBJECT}" not in caplog.text


def test_expired_passport_names_expiry(minter: Minter, verifier: PassportVerifier) -> None:
    exp = minter.now - 3600
    token = minter.passport(claims={"iat": minter.now - 7200, "exp": exp})

    with pytest.raises(InvalidAuthentication) as caught:
        verifier.verify(token)

    expired_at = datetime.fromtimestamp(exp, UTC).isoformat(timespec="seconds")
    assert f"token expired at {expired_at} (exp is in the past)" in caught.value.message
    assert expired_at.endswith("+00:00")
    assert caught.value.message.endswith("; get a new passport and retry")
    assert token not in caught.value.message


def test_rejected_visa_names_unverified_jti(minter: Minter, verifier: PassportVerifier) -> None:
    expired = minter.visa(claims={"iat": minter.now - 7200, "exp": minter.now - 3600,
                                  "jti": "visa-jti-1"})

    identity = verifier.verify(minter.passport([expired]))

    assert len(identity.rejected) == 1
    assert identity.rejected[0].jti == "visa-jti-1"
    assert identity.rejected[0].iss == VISA_ISS
    assert identity.rejected[0].visa_id.startswith("sha256:")


@pytest.mark.parametrize("jti", ["two words", "line\nbreak", "x" * 300, 17])
def test_unprintable_jti_not_repeated(
    jti: object, minter: Minter, verifier: PassportVerifier
) -> None:
    bad = minter.visa(claims={"jti": jti, "exp": minter.now - 3600, "iat": minter.now - 7200})

    identity = verifier.verify(minter.passport([bad]))

    assert identity.rejected[0].jti is None
    assert identity.rejected[0].describe().startswith("visa sha256:")


def test_rejected_visa_logged_at_info(
    minter: Minter, verifier: PassportVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.auth")
    expired = minter.visa(claims={"iat": minter.now - 7200, "exp": minter.now - 3600,
                                  "jti": "visa-jti-2"})

    verifier.verify(minter.passport([expired], claims={"jti": "passport-jti-2"}))

    rejected = [record for record in caplog.records if "visa rejected" in record.getMessage()]
    assert len(rejected) == 1
    assert rejected[0].levelno == logging.INFO
    assert "passport jti=passport-jti-2" in rejected[0].getMessage()
    assert "visa_jti=visa-jti-2" in rejected[0].getMessage()
    assert f"visa_iss={VISA_ISS}" in rejected[0].getMessage()
    assert "token expired" in rejected[0].getMessage()


def test_long_unverified_values_are_cut(
    minter: Minter, verifier: PassportVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.auth")
    long_kid = "K" * 20_000
    long_iss = "https://x.example/" + "I" * 15_000
    forged_kid = minter.visa(header={"kid": long_kid, "jku": "https://evil.example/jwks"},
                             claims={"iss": SECOND_ISS})
    unknown_iss = minter.visa(claims={"iss": long_iss})

    identity = verifier.verify(minter.passport([forged_kid, unknown_iss]))

    reasons = [rejected.reason for rejected in identity.rejected]
    assert len(reasons) == 2
    assert all(len(reason) <= 300 for reason in reasons)
    assert all(reason.endswith("...") for reason in reasons)
    assert long_kid not in caplog.text
    assert long_iss not in caplog.text


def test_non_string_visa_named_by_index(minter: Minter, verifier: PassportVerifier) -> None:
    identity = verifier.verify(minter.passport([minter.visa(), 17]))

    (rejected,) = identity.rejected
    assert rejected.describe() == "visa index:1 from an unknown issuer: visa is not a JWS string"
