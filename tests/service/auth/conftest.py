"""Fixtures for passport tests: independent signing keys, a JWKS server and a token minter."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from service.auth.passport import PassportVerifier
from service.auth.trust import PassportTrust, TrustedIssuer
from tests.service.auth.forge import ForgeKey, jwks, mint

BROKER_ISS = "https://broker.example.org"
VISA_ISS = "https://visas.example.org"
SECOND_ISS = "https://second-visas.example.org"
DATASET = "https://data.example.org/datasets/EGAD00000000001"
DAC = "https://dac.example.org/EGAC00000000001"
SECOND_DAC = "https://dac.second.example.org"
SUBJECT = "alice"
DROP = object()


class _DefaultKey:
    """Marks a `key` argument that was not given, since None means unsigned."""


DEFAULT_KEY = _DefaultKey()


@dataclass(frozen=True)
class Keys:
    """Every key the tests sign with; none of them comes from PyJWT."""

    broker: ForgeKey
    broker_p384: ForgeKey
    broker_short: ForgeKey
    visa: ForgeKey
    second: ForgeKey
    attacker: ForgeKey


def generate_keys() -> Keys:
    """Generate one key of every kind the tests sign with."""
    return Keys(
        broker=ForgeKey.rsa("broker-1"),
        broker_p384=ForgeKey.ec("broker-p384", ec.SECP384R1()),
        broker_short=ForgeKey.rsa("broker-short", bits=1024),
        visa=ForgeKey.ec("visa-1"),
        second=ForgeKey.rsa("second-1"),
        attacker=ForgeKey.ec("attacker-1"),
    )


@pytest.fixture(scope="session")
def keys() -> Keys:
    """Generate the keys once per session; RSA generation is slow."""
    return generate_keys()


@dataclass
class JwksServer:
    """A JWKS and userinfo server on 127.0.0.1 that records each requested path.

    `/userinfo` returns `userinfo[token]` for `Authorization: Bearer <token>`, else 401.
    """

    base_url: str
    documents: dict[str, Any]
    hits: list[str] = field(default_factory=list)
    userinfo: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """Return the full URL of a served path."""
        return f"{self.base_url}{path}"


@contextmanager
def running_jwks_server(keys: Keys) -> Iterator[JwksServer]:
    """Serve the broker's and the visa issuer's JWKS, plus an attacker's, on 127.0.0.1."""
    documents: dict[str, Any] = {
        "/broker-jwks": jwks(keys.broker, keys.broker_p384, keys.broker_short),
        "/visa-jwks": jwks(keys.visa),
        "/attacker-jwks": jwks(keys.attacker),
    }
    state = JwksServer("", documents)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/visa-jwks")
                self.end_headers()
                return
            if self.path == "/userinfo":
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                document = state.userinfo.get(token)
                status = 401 if document is None else 200
            else:
                document = state.documents.get(self.path)
                status = 404 if document is None else 200
            body = json.dumps(document).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def jwks_server(keys: Keys) -> Iterator[JwksServer]:
    """A JWKS server for one test."""
    with running_jwks_server(keys) as server:
        yield server


@pytest.fixture
def trust(keys: Keys, jwks_server: JwksServer) -> PassportTrust:
    """Trust the broker and visa issuer by allow-listed jku, the second issuer by pinned keys."""
    return PassportTrust(
        brokers=(TrustedIssuer(iss=BROKER_ISS, jku_allowlist=(jwks_server.url("/broker-jwks"),)),),
        visa_issuers=(
            TrustedIssuer(iss=VISA_ISS, jku_allowlist=(jwks_server.url("/visa-jwks"),)),
            TrustedIssuer(iss=SECOND_ISS, jwks=jwks(keys.second), allowed_sources=(SECOND_DAC,)),
        ),
    )


@pytest.fixture
def verifier(trust: PassportTrust) -> PassportVerifier:
    """A verifier that fetches JWKS from the local server."""
    return PassportVerifier(trust)


def _apply(base: dict[str, Any], updates: dict[str, Any] | None) -> dict[str, Any]:
    result = dict(base)
    for name, value in (updates or {}).items():
        if value is DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


@dataclass
class Minter:
    """Build passports and visas from defaults; each override replaces or DROPs one field."""

    keys: Keys
    server: JwksServer
    now: int

    def visa(
        self,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        visa: dict[str, Any] | None = None,
        key: ForgeKey | bytes | _DefaultKey | None = DEFAULT_KEY,
    ) -> str:
        """Mint a ControlledAccessGrants Document Token from the jku-trusted visa issuer."""
        base_header = {
            "alg": "ES256",
            "typ": "vnd.ga4gh.visa+jwt",
            "kid": self.keys.visa.kid,
            "jku": self.server.url("/visa-jwks"),
        }
        visa_object = {
            "type": "ControlledAccessGrants",
            "asserted": self.now - 600,
            "value": DATASET,
            "source": DAC,
            "by": "dac",
        }
        base_claims = {
            "iss": VISA_ISS,
            "sub": SUBJECT,
            "iat": self.now - 10,
            "exp": self.now + 3600,
            "jti": str(uuid.uuid4()),
            "ga4gh_visa_v1": _apply(visa_object, visa),
        }
        signer = self.keys.visa if isinstance(key, _DefaultKey) else key
        return mint(_apply(base_header, header), _apply(base_claims, claims), signer)

    def second_visa(
        self, visa: dict[str, Any] | None = None, claims: dict[str, Any] | None = None
    ) -> str:
        """Mint a visa from the pinned second issuer, identified by `scope` (no jku)."""
        visa_object = {
            "type": "AffiliationAndRole",
            "asserted": self.now - 600,
            "value": "faculty@uni.example.org",
            "source": SECOND_DAC,
            "by": "so",
        }
        base_claims = {
            "iss": SECOND_ISS,
            "sub": SUBJECT,
            "iat": self.now - 10,
            "exp": self.now + 3600,
            "scope": "ga4gh_passport_v1",
            "ga4gh_visa_v1": _apply(visa_object, visa),
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self.keys.second.kid}
        return mint(header, _apply(base_claims, claims), self.keys.second)

    def passport(
        self,
        visas: list[Any] | None = None,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        key: ForgeKey | bytes | _DefaultKey | None = DEFAULT_KEY,
    ) -> str:
        """Mint an RS256 passport from the broker, by default with one valid visa."""
        base_header = {"alg": "RS256", "typ": "vnd.ga4gh.passport+jwt", "kid": self.keys.broker.kid}
        base_claims = {
            "iss": BROKER_ISS,
            "sub": SUBJECT,
            "iat": self.now - 10,
            "exp": self.now + 1800,
            "jti": str(uuid.uuid4()),
            "ga4gh_passport_v1": [self.visa()] if visas is None else visas,
        }
        signer = self.keys.broker if isinstance(key, _DefaultKey) else key
        return mint(_apply(base_header, header), _apply(base_claims, claims), signer)


    def access_token(
        self, claims: dict[str, Any] | None = None, header: dict[str, Any] | None = None
    ) -> str:
        """Mint an RS256 passport-scoped access token from the broker, with no visas."""
        base_header = {"alg": "RS256", "typ": "at+jwt", "kid": self.keys.broker.kid}
        base_claims = {
            "iss": BROKER_ISS,
            "sub": SUBJECT,
            "iat": self.now - 10,
            "exp": self.now + 1800,
            "jti": str(uuid.uuid4()),
            "scope": "openid ga4gh_passport_v1",
        }
        return mint(_apply(base_header, header), _apply(base_claims, claims), self.keys.broker)


@pytest.fixture
def minter(keys: Keys, jwks_server: JwksServer) -> Minter:
    """A minter whose tokens are issued now."""
    return Minter(keys, jwks_server, int(time.time()))
