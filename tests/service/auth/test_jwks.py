"""JWKS cache: TTL, refresh on unknown kid, fetch rate limit and allow-listed jku only."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import pytest

from service.auth.jwks import MAX_SHOWN_JKU, JwksCache, fetch_jwks, public_key_from_jwk
from service.auth.jws import TokenError
from service.auth.trust import PassportTrust, TrustedIssuer
from tests.service.auth.conftest import JwksServer, Keys
from tests.service.auth.forge import jwks

ISS = "https://visas.example.org"
URL = "https://visas.example.org/jwks"


class FakeFetcher:
    """Serve JWKS documents from a dict and count fetches per URL."""

    def __init__(self, documents: dict[str, object]) -> None:
        self.documents = documents
        self.calls: list[str] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.calls.append(url)
        document = self.documents.get(url)
        if document is None:
            raise urllib.error.URLError("connection refused")
        return json.dumps(document).encode("utf-8")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> TrustedIssuer:
    return TrustedIssuer(iss=ISS, jku_allowlist=(URL,))


@pytest.fixture
def trust(issuer: TrustedIssuer) -> PassportTrust:
    return PassportTrust(
        visa_issuers=(issuer,), jwks_cache_seconds=300, jwks_min_refresh_seconds=30
    )


def test_second_lookup_is_cached(keys: Keys, trust: PassportTrust, issuer: TrustedIssuer) -> None:
    fetcher = FakeFetcher({URL: jwks(keys.visa)})
    cache = JwksCache(trust, fetcher, Clock())

    cache.key_for(issuer, keys.visa.kid, None, "ES256")
    cache.key_for(issuer, keys.visa.kid, None, "ES256")

    assert fetcher.calls == [URL]


def test_refetch_after_ttl(keys: Keys, trust: PassportTrust, issuer: TrustedIssuer) -> None:
    fetcher = FakeFetcher({URL: jwks(keys.visa)})
    clock = Clock()
    cache = JwksCache(trust, fetcher, clock)

    cache.key_for(issuer, keys.visa.kid, None, "ES256")
    clock.now += 301
    cache.key_for(issuer, keys.visa.kid, None, "ES256")

    assert fetcher.calls == [URL, URL]


def test_unknown_kid_triggers_refresh(
    keys: Keys, trust: PassportTrust, issuer: TrustedIssuer
) -> None:
    fetcher = FakeFetcher({URL: jwks(keys.visa)})
    clock = Clock()
    cache = JwksCache(trust, fetcher, clock)
    cache.key_for(issuer, keys.visa.kid, None, "ES256")

    fetcher.documents[URL] = jwks(keys.visa, keys.attacker)
    clock.now += 31

    assert cache.key_for(issuer, keys.attacker.kid, None, "ES256") is not None
    assert fetcher.calls == [URL, URL]


def test_refresh_rate_limited(keys: Keys, trust: PassportTrust, issuer: TrustedIssuer) -> None:
    fetcher = FakeFetcher({URL: jwks(keys.visa)})
    clock = Clock()
    cache = JwksCache(trust, fetcher, clock)
    cache.key_for(issuer, keys.visa.kid, None, "ES256")

    for _ in range(5):
        clock.now += 1
        with pytest.raises(TokenError, match="no key with kid"):
            cache.key_for(issuer, "unknown-kid", None, "ES256")

    assert fetcher.calls == [URL]


def test_jku_not_allowlisted_never_fetched(
    keys: Keys, trust: PassportTrust, issuer: TrustedIssuer
) -> None:
    fetcher = FakeFetcher({"https://evil.example.org/jwks": jwks(keys.attacker)})
    cache = JwksCache(trust, fetcher, Clock())

    with pytest.raises(TokenError, match="not in the jku_allowlist"):
        cache.key_for(issuer, keys.attacker.kid, "https://evil.example.org/jwks", "ES256")

    assert fetcher.calls == []


def test_unlisted_jku_uses_pinned_kid(keys: Keys) -> None:
    issuer = TrustedIssuer(iss=ISS, jwks=jwks(keys.visa))
    fetcher = FakeFetcher({"https://other.example.org/jwks": jwks(keys.attacker)})
    cache = JwksCache(PassportTrust(visa_issuers=(issuer,)), fetcher, Clock())

    key = cache.key_for(issuer, keys.visa.kid, "https://other.example.org/jwks", "ES256")

    assert key.public_numbers() == keys.visa.private_key.public_key().public_numbers()
    assert fetcher.calls == []


def test_unlisted_jku_with_unpinned_kid_rejected(keys: Keys) -> None:
    issuer = TrustedIssuer(iss=ISS, jwks=jwks(keys.visa), jku_allowlist=(URL,))
    jku = "https://evil.example.org/jwks"
    fetcher = FakeFetcher({jku: jwks(keys.attacker), URL: jwks(keys.attacker)})
    cache = JwksCache(PassportTrust(visa_issuers=(issuer,)), fetcher, Clock())

    with pytest.raises(TokenError) as caught:
        cache.key_for(issuer, keys.attacker.kid, jku, "ES256")

    assert f"jku '{jku}' is not in the jku_allowlist of trusted issuer '{ISS}'" in str(
        caught.value
    )
    assert f"no key pinned in its jwks or jwks_file has kid '{keys.attacker.kid}'" in str(
        caught.value
    )
    assert fetcher.calls == []


def test_unlisted_jku_without_kid_rejected(keys: Keys) -> None:
    issuer = TrustedIssuer(iss=ISS, jwks=jwks(keys.visa))
    cache = JwksCache(PassportTrust(visa_issuers=(issuer,)), FakeFetcher({}), Clock())

    with pytest.raises(TokenError, match="has kid None"):
        cache.key_for(issuer, None, "https://other.example.org/jwks", "ES256")


def test_unlisted_jku_message_is_shortened(keys: Keys, issuer: TrustedIssuer) -> None:
    jku = "https://evil.example.org/" + "a" * 1000
    cache = JwksCache(PassportTrust(visa_issuers=(issuer,)), FakeFetcher({}), Clock())

    with pytest.raises(TokenError) as caught:
        cache.key_for(issuer, keys.visa.kid, jku, "ES256")

    assert jku not in str(caught.value)
    assert jku[:MAX_SHOWN_JKU] + "..." in str(caught.value)


def test_failed_refresh_keeps_stale_keys(
    keys: Keys, trust: PassportTrust, issuer: TrustedIssuer
) -> None:
    fetcher = FakeFetcher({URL: jwks(keys.visa)})
    clock = Clock()
    cache = JwksCache(trust, fetcher, clock)
    cache.key_for(issuer, keys.visa.kid, None, "ES256")

    del fetcher.documents[URL]
    clock.now += 301

    assert cache.key_for(issuer, keys.visa.kid, None, "ES256") is not None
    assert fetcher.calls == [URL, URL]


def test_missing_kid_with_single_key(keys: Keys) -> None:
    issuer = TrustedIssuer(iss=ISS, jwks=jwks(keys.visa))
    cache = JwksCache(PassportTrust(visa_issuers=(issuer,)), FakeFetcher({}))

    assert cache.key_for(issuer, None, None, "ES256") is not None


def test_missing_kid_with_two_keys(keys: Keys) -> None:
    issuer = TrustedIssuer(iss=ISS, jwks=jwks(keys.visa, keys.attacker))
    cache = JwksCache(PassportTrust(visa_issuers=(issuer,)), FakeFetcher({}))

    with pytest.raises(TokenError, match="has 2 keys"):
        cache.key_for(issuer, None, None, "ES256")


def test_pinned_file_reread_on_change(keys: Keys, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(keys.visa)))
    issuer = TrustedIssuer(iss=ISS, jwks_file=path)
    cache = JwksCache(PassportTrust(visa_issuers=(issuer,)), FakeFetcher({}))
    cache.key_for(issuer, keys.visa.kid, None, "ES256")

    path.write_text(json.dumps(jwks(keys.visa, keys.attacker)))

    assert cache.key_for(issuer, keys.attacker.kid, None, "ES256") is not None


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"alg": "ES384"}, "is for"),
        ({"use": "enc"}, "not a signing key"),
        ({"x": "AA"}, "valid JWK"),
    ],
)
def test_unusable_jwk_rejected(keys: Keys, update: dict[str, str], message: str) -> None:
    jwk = {**keys.visa.jwk(), **update}

    with pytest.raises(TokenError, match=message):
        public_key_from_jwk(jwk, "ES256")


def test_fetch_reads_local_server(jwks_server: JwksServer) -> None:
    body = fetch_jwks(jwks_server.url("/visa-jwks"), timeout=5)

    assert json.loads(body) == jwks_server.documents["/visa-jwks"]


def test_fetch_does_not_follow_redirects(jwks_server: JwksServer) -> None:
    with pytest.raises(urllib.error.HTTPError):
        fetch_jwks(jwks_server.url("/redirect"), timeout=5)

    assert jwks_server.hits == ["/redirect"]


def test_issuer_without_keys_rejected() -> None:
    with pytest.raises(ValueError, match="has no keys"):
        TrustedIssuer(iss=ISS)


def test_issuer_with_non_http_jku_rejected() -> None:
    with pytest.raises(ValueError, match="not an http"):
        TrustedIssuer(iss=ISS, jku_allowlist=("file:///etc/jwks.json",))
