"""Embedded broker: ES256 passports that the clearinghouse accepts, rotation and token exchange."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from service.auth import InvalidAuthentication, PassportTrust, PassportVerifier, grants_access
from service.auth.broker import (
    ACCESS_TOKEN_TYPE,
    PASSPORT_TOKEN_TYPE,
    TOKEN_EXCHANGE_GRANT,
    BrokerSubject,
    EmbeddedBroker,
    TokenExchangeError,
)
from service.auth.keys import BrokerKeyStore
from service.auth.models import VisaType

ISSUER = "https://consentry.example.org/broker"
JWKS_URL = "https://consentry.example.org/broker/jwks"
DATASET = "https://data.example.org/datasets/EGAD00000000001"


@pytest.fixture
def broker(tmp_path: Path) -> EmbeddedBroker:
    return EmbeddedBroker(ISSUER, BrokerKeyStore(tmp_path / "keys"), JWKS_URL)


@pytest.fixture
def verifier(broker: EmbeddedBroker) -> PassportVerifier:
    issuer = broker.trusted_issuer()
    return PassportVerifier(PassportTrust(brokers=(issuer,), visa_issuers=(issuer,)))


def exchange_form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "requested_token_type": PASSPORT_TOKEN_TYPE,
        "subject_token": "access-token-1",
        "subject_token_type": ACCESS_TOKEN_TYPE,
    }
    form.update(overrides)
    return form


def resolve(token: str) -> BrokerSubject:
    if token != "access-token-1":
        raise InvalidAuthentication("access token is not known")
    return BrokerSubject("alice", grants=(DATASET,))


def test_issued_passport_verifies(broker: EmbeddedBroker, verifier: PassportVerifier) -> None:
    token = broker.issue_passport(
        "alice", grants=[DATASET], affiliation="faculty@uni.example.org", researcher_status=True
    )

    identity = verifier.verify(token)

    assert grants_access(identity, DATASET)
    assert identity.rejected == ()
    assert sorted(visa.type for visa in identity.accepted) == [
        VisaType.AFFILIATION_AND_ROLE,
        VisaType.CONTROLLED_ACCESS_GRANTS,
        VisaType.RESEARCHER_STATUS,
    ]


def test_passport_header_is_es256(broker: EmbeddedBroker) -> None:
    header = jwt.get_unverified_header(broker.issue_passport("alice"))

    assert header["alg"] == "ES256"
    assert header["typ"] == "vnd.ga4gh.passport+jwt"
    assert header["kid"] == broker.keys.active.kid


def test_visa_is_document_token(broker: EmbeddedBroker) -> None:
    visa = broker.issue_visa("alice", VisaType.CONTROLLED_ACCESS_GRANTS, DATASET, "dac", 60)

    header = jwt.get_unverified_header(visa)

    assert header["jku"] == JWKS_URL
    assert header["typ"] == "vnd.ga4gh.visa+jwt"


def test_rotation_keeps_old_passports_valid(
    broker: EmbeddedBroker, verifier: PassportVerifier
) -> None:
    before = broker.issue_passport("alice", grants=[DATASET])
    old_kid = broker.keys.active.kid

    new_kid = broker.rotate_keys()
    after = broker.issue_passport("alice", grants=[DATASET])

    assert new_kid != old_kid
    assert grants_access(verifier.verify(before), DATASET)
    assert grants_access(verifier.verify(after), DATASET)


@pytest.mark.parametrize("expires_in", [0, 3601])
def test_lifetime_out_of_range(broker: EmbeddedBroker, expires_in: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        broker.issue_passport("alice", expires_in=expires_in)


def test_token_exchange_returns_passport(
    broker: EmbeddedBroker, verifier: PassportVerifier
) -> None:
    response = broker.exchange_token(exchange_form(), resolve)

    assert response["issued_token_type"] == PASSPORT_TOKEN_TYPE
    assert response["token_type"] == "Bearer"
    assert response["expires_in"] == 3600
    assert grants_access(verifier.verify(response["access_token"]), DATASET)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
        ({"requested_token_type": ACCESS_TOKEN_TYPE}, "invalid_request"),
        ({"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request"),
        ({"subject_token": ""}, "invalid_request"),
        ({"subject_token": "stolen-token"}, "invalid_grant"),
    ],
)
def test_token_exchange_errors(
    broker: EmbeddedBroker, overrides: dict[str, str], error: str
) -> None:
    with pytest.raises(TokenExchangeError) as caught:
        broker.exchange_token(exchange_form(**overrides), resolve)

    assert caught.value.error == error


def test_exchange_sets_audience(broker: EmbeddedBroker) -> None:
    response = broker.exchange_token(exchange_form(audience="https://drs.example.org"), resolve)

    claims = jwt.decode(response["access_token"], options={"verify_signature": False})

    assert claims["aud"] == "https://drs.example.org"
