"""Visa Access Token flow: access token verified, visas read from userinfo, one-hour rule."""

from __future__ import annotations

import pytest

from service.auth import InvalidAuthentication, grants_access
from service.auth.passport import PassportVerifier
from service.auth.userinfo import USERINFO_TRUST_SECONDS, UserinfoVerifier, http_userinfo
from service.errors import ServiceUnavailable
from tests.service.auth.conftest import BROKER_ISS, DATASET, SUBJECT, JwksServer, Minter


@pytest.fixture
def userinfo(verifier: PassportVerifier, jwks_server: JwksServer) -> UserinfoVerifier:
    source = http_userinfo(jwks_server.url("/userinfo"), timeout=5)
    return UserinfoVerifier(verifier, {BROKER_ISS: source})


def _register(server: JwksServer, token: str, visas: list[str], sub: str = SUBJECT) -> None:
    server.userinfo[token] = {"sub": sub, "ga4gh_passport_v1": visas}


def test_visas_from_userinfo_grant(
    minter: Minter, jwks_server: JwksServer, userinfo: UserinfoVerifier
) -> None:
    token = minter.access_token()
    _register(jwks_server, token, [minter.visa()])

    identity = userinfo.verify(token)

    assert grants_access(identity, DATASET)
    assert identity.subject == SUBJECT


def test_identity_trusted_one_hour(
    minter: Minter, jwks_server: JwksServer, userinfo: UserinfoVerifier
) -> None:
    token = minter.access_token(claims={"exp": minter.now + 7200})
    _register(jwks_server, token, [minter.visa(claims={"exp": minter.now + 7200})])

    identity = userinfo.verify(token)

    assert identity.earliest_exp <= minter.now + USERINFO_TRUST_SECONDS + 5


def test_old_access_token_confirmed_by_poll(
    minter: Minter, jwks_server: JwksServer, userinfo: UserinfoVerifier
) -> None:
    token = minter.access_token(claims={"iat": minter.now - 7200, "exp": minter.now + 600})
    _register(jwks_server, token, [minter.visa()])

    identity = userinfo.verify(token)

    assert grants_access(identity, DATASET)


def test_revoked_token_rejected(minter: Minter, userinfo: UserinfoVerifier) -> None:
    with pytest.raises(InvalidAuthentication) as caught:
        userinfo.verify(minter.access_token())

    assert "revoked" in caught.value.message


def test_subject_mismatch_rejected(
    minter: Minter, jwks_server: JwksServer, userinfo: UserinfoVerifier
) -> None:
    token = minter.access_token()
    _register(jwks_server, token, [minter.visa()], sub="mallory")

    with pytest.raises(InvalidAuthentication) as caught:
        userinfo.verify(token)

    assert "sub" in caught.value.message


def test_token_without_passport_scope_rejected(
    minter: Minter, jwks_server: JwksServer, userinfo: UserinfoVerifier
) -> None:
    token = minter.access_token(claims={"scope": "openid"})
    _register(jwks_server, token, [minter.visa()])

    with pytest.raises(InvalidAuthentication) as caught:
        userinfo.verify(token)

    assert "ga4gh_passport_v1" in caught.value.message
    assert "/userinfo" not in jwks_server.hits


def test_forged_signature_never_polls(
    minter: Minter, jwks_server: JwksServer, userinfo: UserinfoVerifier
) -> None:
    token = minter.access_token()
    forged = ".".join([*token.split(".")[:2], "AAAA"])
    _register(jwks_server, forged, [minter.visa()])

    with pytest.raises(InvalidAuthentication):
        userinfo.verify(forged)

    assert "/userinfo" not in jwks_server.hits


def test_unreachable_userinfo_backs_off(minter: Minter, verifier: PassportVerifier) -> None:
    calls: list[str] = []

    def failing(token: str) -> dict[str, object]:
        calls.append(token)
        raise OSError("connection refused")

    userinfo = UserinfoVerifier(verifier, {BROKER_ISS: failing})
    token = minter.access_token()

    with pytest.raises(ServiceUnavailable):
        userinfo.verify(token)
    with pytest.raises(ServiceUnavailable) as second:
        userinfo.verify(token)

    assert len(calls) == 1
    assert "retry in" in second.value.message


def test_accepts_only_access_tokens_of_known_brokers(
    minter: Minter, userinfo: UserinfoVerifier
) -> None:
    assert userinfo.accepts(minter.access_token())
    assert not userinfo.accepts(minter.passport())
    assert not userinfo.accepts(minter.access_token(claims={"iss": "https://other.example.org"}))
    assert not userinfo.accepts("not-a-token")
