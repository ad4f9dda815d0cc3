"""A corpus of forged or broken passports, each rejected with the right exception."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from service.auth import InvalidAuthentication, PermissionDenied, require_access
from service.auth.passport import PassportVerifier
from tests.service.auth.conftest import (
    DATASET,
    DROP,
    SECOND_DAC,
    SECOND_ISS,
    SUBJECT,
    VISA_ISS,
    JwksServer,
    Minter,
)
from tests.service.auth.forge import ForgeKey, b64url, mint, replace_payload


@dataclass(frozen=True)
class Case:
    """One broken token, the exception it must raise and a fragment of its message."""

    build: Callable[[Minter], str]
    error: type[Exception]
    message: str


def _tampered_passport(m: Minter) -> str:
    token = m.passport()
    payload = json.loads(_decode(token.split(".")[1]))
    payload["sub"] = "mallory"
    return replace_payload(token, payload)


def _tampered_visa(m: Minter) -> str:
    visa = m.visa()
    payload = json.loads(_decode(visa.split(".")[1]))
    payload["ga4gh_visa_v1"]["value"] = "https://data.example.org/datasets/OTHER"
    return m.passport([replace_payload(visa, payload)])


def _decode(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _wrong_key_same_kid(m: Minter) -> str:
    impostor = ForgeKey.rsa(m.keys.broker.kid)
    return m.passport(key=impostor)


def _oversized(m: Minter) -> str:
    return m.passport(claims={"padding": "x" * (64 * 1024)})


def _too_many_visas(m: Minter) -> str:
    return m.passport(["x"] * 201)


def _mixed_identities(m: Minter) -> str:
    condition = [[{"type": "AffiliationAndRole", "value": "pattern:faculty@*"}]]
    grant = m.visa(claims={"sub": "alice-at-visas"}, visa={"conditions": condition})
    return m.passport([grant, m.second_visa()])


def _unmet_conditions(m: Minter) -> str:
    condition = [[{"type": "AffiliationAndRole", "value": "const:student@uni.example.org"}]]
    affiliation = {"type": "AffiliationAndRole", "value": "faculty@uni.example.org", "by": "so"}
    return m.passport([m.visa(visa={"conditions": condition}), m.visa(visa=affiliation)])


def _old_visa_access_token(m: Minter) -> str:
    old = m.second_visa(
        visa={"type": "ControlledAccessGrants", "value": DATASET, "by": "dac"},
        claims={"scope": "openid ga4gh_passport_v1", "iat": m.now - 7200},
    )
    return m.passport([old])


def _pinned_kid_foreign_jku(m: Minter) -> str:
    """A visa naming the pinned issuer's kid and an attacker's jku, signed by the attacker."""
    header = {"alg": "RS256", "typ": "vnd.ga4gh.visa+jwt", "kid": m.keys.second.kid,
              "jku": m.server.url("/attacker-jwks")}
    visa_object = {"type": "ControlledAccessGrants", "asserted": m.now - 600, "value": DATASET,
                   "source": SECOND_DAC, "by": "dac"}
    claims = {"iss": SECOND_ISS, "sub": SUBJECT, "iat": m.now - 10, "exp": m.now + 3600,
              "ga4gh_visa_v1": visa_object}
    return m.passport([mint(header, claims, ForgeKey.rsa(m.keys.second.kid))])


PASSPORT_CASES: dict[str, Case] = {
    "empty token": Case(lambda m: "", InvalidAuthentication, "no passport"),
    "not a JWS": Case(lambda m: "not-a.jwt", InvalidAuthentication, "malformed"),
    "alg none": Case(
        lambda m: m.passport(header={"alg": "none"}, key=None), InvalidAuthentication, "'none'"
    ),
    "HS256 with RSA public key": Case(
        lambda m: m.passport(header={"alg": "HS256"}, key=m.keys.broker.public_pem()),
        InvalidAuthentication,
        "'HS256'",
    ),
    "RS512 algorithm": Case(
        lambda m: m.passport(header={"alg": "RS512"}), InvalidAuthentication, "'RS512'"
    ),
    "unknown kid": Case(
        lambda m: m.passport(header={"kid": "no-such-key"}), InvalidAuthentication, "no-such-key"
    ),
    "kid of a visa issuer": Case(
        lambda m: m.passport(header={"alg": "ES256", "kid": m.keys.visa.kid}, key=m.keys.visa),
        InvalidAuthentication,
        "no key with kid",
    ),
    "jku spoofing": Case(
        lambda m: m.passport(
            header={
                "alg": "ES256",
                "kid": m.keys.attacker.kid,
                "jku": m.server.url("/attacker-jwks"),
            },
            key=m.keys.attacker,
        ),
        InvalidAuthentication,
        "not in the jku_allowlist",
    ),
    "expired passport": Case(
        lambda m: m.passport(claims={"iat": m.now - 7200, "exp": m.now - 3600}),
        InvalidAuthentication,
        "expired",
    ),
    "future iat": Case(
        lambda m: m.passport(claims={"iat": m.now + 600}), InvalidAuthentication, "future"
    ),
    "future nbf": Case(
        lambda m: m.passport(claims={"nbf": m.now + 600}), InvalidAuthentication, "nbf"
    ),
    "missing iss": Case(
        lambda m: m.passport(claims={"iss": DROP}), InvalidAuthentication, "'iss' is missing"
    ),
    "missing sub": Case(
        lambda m: m.passport(claims={"sub": DROP}), InvalidAuthentication, "'sub' is missing"
    ),
    "missing iat": Case(
        lambda m: m.passport(claims={"iat": DROP}), InvalidAuthentication, "'iat' is missing"
    ),
    "missing exp": Case(
        lambda m: m.passport(claims={"exp": DROP}), InvalidAuthentication, "'exp' is missing"
    ),
    "exp not a number": Case(
        lambda m: m.passport(claims={"exp": "tomorrow"}), InvalidAuthentication, "'exp'"
    ),
    "empty sub": Case(lambda m: m.passport(claims={"sub": ""}), InvalidAuthentication, "'sub'"),
    "wrong typ": Case(lambda m: m.passport(header={"typ": "JWT"}), InvalidAuthentication, "typ"),
    "missing typ": Case(lambda m: m.passport(header={"typ": DROP}), InvalidAuthentication, "typ"),
    "untrusted broker": Case(
        lambda m: m.passport(claims={"iss": "https://rogue-broker.example.org"}),
        InvalidAuthentication,
        "not a trusted broker",
    ),
    "tampered passport payload": Case(
        _tampered_passport, InvalidAuthentication, "signature verification failed"
    ),
    "wrong signature": Case(
        _wrong_key_same_kid, InvalidAuthentication, "signature verification failed"
    ),
    "ES256 on curve P-384": Case(
        lambda m: m.passport(
            header={"alg": "ES256", "kid": m.keys.broker_p384.kid}, key=m.keys.broker_p384
        ),
        InvalidAuthentication,
        "P-256",
    ),
    "RSA key of 1024 bits": Case(
        lambda m: m.passport(header={"kid": m.keys.broker_short.kid}, key=m.keys.broker_short),
        InvalidAuthentication,
        "2048",
    ),
    "crit header": Case(
        lambda m: m.passport(header={"crit": ["exp"]}), InvalidAuthentication, "critical extension"
    ),
    "oversized token": Case(_oversized, InvalidAuthentication, "bytes"),
    "too many visas": Case(_too_many_visas, InvalidAuthentication, "201 visas"),
    "visa claim missing": Case(
        lambda m: m.passport(claims={"ga4gh_passport_v1": DROP}),
        InvalidAuthentication,
        "ga4gh_passport_v1",
    ),
}

VISA_CASES: dict[str, Case] = {
    "expired visa": Case(
        lambda m: m.passport([m.visa(claims={"iat": m.now - 7200, "exp": m.now - 3600})]),
        PermissionDenied,
        "expired",
    ),
    "visa future iat": Case(
        lambda m: m.passport([m.visa(claims={"iat": m.now + 600})]), PermissionDenied, "future"
    ),
    "visa missing sub": Case(
        lambda m: m.passport([m.visa(claims={"sub": DROP})]), PermissionDenied, "'sub'"
    ),
    "visa missing exp": Case(
        lambda m: m.passport([m.visa(claims={"exp": DROP})]), PermissionDenied, "'exp'"
    ),
    "visa alg none": Case(
        lambda m: m.passport([m.visa(header={"alg": "none"}, key=None)]),
        PermissionDenied,
        "'none'",
    ),
    "visa HS256 with public key": Case(
        lambda m: m.passport([m.visa(header={"alg": "HS256"}, key=m.keys.visa.public_pem())]),
        PermissionDenied,
        "'HS256'",
    ),
    "visa from untrusted issuer": Case(
        lambda m: m.passport([m.visa(claims={"iss": "https://rogue-visas.example.org"})]),
        PermissionDenied,
        "not a trusted visa issuer",
    ),
    "visa re-signed by broker": Case(
        lambda m: m.passport(
            [m.visa(header={"alg": "RS256", "kid": m.keys.broker.kid}, key=m.keys.broker)]
        ),
        PermissionDenied,
        "no key with kid",
    ),
    "visa re-signed under issuer kid": Case(
        lambda m: m.passport([m.visa(header={"alg": "RS256"}, key=m.keys.broker)]),
        PermissionDenied,
        "needs an RSA key",
    ),
    "visa issued by broker": Case(
        lambda m: m.passport(
            [
                m.visa(
                    header={"alg": "RS256", "kid": m.keys.broker.kid, "jku": DROP},
                    claims={"iss": "https://broker.example.org", "scope": "ga4gh"},
                    key=m.keys.broker,
                )
            ]
        ),
        PermissionDenied,
        "not a trusted visa issuer",
    ),
    "visa jku spoofing": Case(
        lambda m: m.passport(
            [
                m.visa(
                    header={"kid": m.keys.attacker.kid, "jku": m.server.url("/attacker-jwks")},
                    key=m.keys.attacker,
                )
            ]
        ),
        PermissionDenied,
        "not in the jku_allowlist",
    ),
    "pinned kid with foreign jku": Case(
        _pinned_kid_foreign_jku, PermissionDenied, "signature verification failed"
    ),
    "tampered visa payload": Case(_tampered_visa, PermissionDenied, "signature"),
    "visa wrong typ": Case(
        lambda m: m.passport([m.visa(header={"typ": "at+jwt"})]), PermissionDenied, "typ"
    ),
    "visa without jku or scope": Case(
        lambda m: m.passport([m.second_visa(claims={"scope": DROP})]), PermissionDenied, "scope"
    ),
    "old visa access token": Case(_old_visa_access_token, PermissionDenied, "one hour"),
    "asserted after iat": Case(
        lambda m: m.passport([m.visa(visa={"asserted": m.now})]), PermissionDenied, "asserted"
    ),
    "grant without by": Case(
        lambda m: m.passport([m.visa(visa={"by": DROP})]), PermissionDenied, "'by'"
    ),
    "unknown by value": Case(
        lambda m: m.passport([m.visa(visa={"by": "boss"})]), PermissionDenied, "'boss'"
    ),
    "grant value not a URL": Case(
        lambda m: m.passport([m.visa(visa={"value": "EGAD00000000001"})]),
        PermissionDenied,
        "absolute URL",
    ),
    "untrusted source": Case(
        lambda m: m.passport(
            [
                m.second_visa(
                    visa={
                        "type": "ControlledAccessGrants",
                        "value": DATASET,
                        "by": "dac",
                        "source": "https://other-dac.example.org",
                    }
                )
            ]
        ),
        PermissionDenied,
        "not trusted for issuer",
    ),
    "value differs by case": Case(
        lambda m: m.passport([m.visa(visa={"value": DATASET.replace("EGAD", "egad")})]),
        PermissionDenied,
        "no accepted ControlledAccessGrants",
    ),
    "unmet conditions": Case(_unmet_conditions, PermissionDenied, "conditions are not met"),
    "mixed identities without link": Case(
        _mixed_identities, PermissionDenied, "conditions are not met"
    ),
    "malformed conditions": Case(
        lambda m: m.passport([m.visa(visa={"conditions": {"type": "ResearcherStatus"}})]),
        PermissionDenied,
        "conditions",
    ),
    "visa is not a string": Case(
        lambda m: m.passport([{"type": "ControlledAccessGrants"}]),
        PermissionDenied,
        "not a JWS string",
    ),
}

ALL_CASES = {**PASSPORT_CASES, **VISA_CASES}


def test_corpus_has_at_least_thirty_tokens() -> None:
    assert len(ALL_CASES) >= 30


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_forged_token_rejected(name: str, minter: Minter, verifier: PassportVerifier) -> None:
    case = ALL_CASES[name]
    token = case.build(minter)

    with pytest.raises(case.error) as caught:
        require_access(verifier.verify(token), DATASET)

    assert case.message in str(caught.value)
    for segment in token.split("."):
        assert len(segment) < 16 or segment not in str(caught.value)


@pytest.mark.parametrize(
    "name", ["jku spoofing", "visa jku spoofing", "pinned kid with foreign jku"]
)
def test_spoofed_jku_never_fetched(
    name: str, minter: Minter, verifier: PassportVerifier, jwks_server: JwksServer
) -> None:
    token = ALL_CASES[name].build(minter)

    with pytest.raises((InvalidAuthentication, PermissionDenied)):
        require_access(verifier.verify(token), DATASET)

    assert "/attacker-jwks" not in jwks_server.hits


def test_hs256_secret_guess_rejected(minter: Minter, verifier: PassportVerifier) -> None:
    header = {"alg": "HS256", "typ": "vnd.ga4gh.passport+jwt"}
    payload = {
        "iss": VISA_ISS,
        "sub": SUBJECT,
        "iat": minter.now,
        "exp": minter.now + 60,
        "ga4gh_passport_v1": [],
    }
    token = mint(header, payload, b"secret")

    with pytest.raises(InvalidAuthentication):
        verifier.verify(token)


def test_unsigned_token_without_signature_segment(verifier: PassportVerifier) -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "vnd.ga4gh.passport+jwt"}).encode())
    payload = b64url(json.dumps({"iss": SECOND_ISS, "sub": SUBJECT}).encode())

    with pytest.raises(InvalidAuthentication):
        verifier.verify(f"{header}.{payload}.")
