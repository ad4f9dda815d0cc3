"""Signing keys of trusted issuers: pinned JWKS plus allow-listed `jku` URLs cached with a TTL."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from service.auth.jws import TokenError
from service.auth.trust import PassportTrust, TrustedIssuer

logger = logging.getLogger(__name__)

MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048
# Maximum number of characters of an unlisted `jku` that an error message repeats, because
# the header is not verified when the message is built.
MAX_SHOWN_JKU = 200

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
JwksFetcher = Callable[[str, float], bytes]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects so a fetch never leaves the allow-listed URL."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch_jwks(url: str, timeout: float) -> bytes:
    """GET a JWKS document; at most MAX_JWKS_BYTES are read and redirects are not followed."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with _OPENER.open(request, timeout=timeout) as response:
        if response.status != 200:
            raise OSError(f"JWKS URL {url} returned HTTP {response.status}")
        body: bytes = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise OSError(f"JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes")
    return body


def public_key_from_jwk(jwk: dict[str, Any], alg: str) -> PublicKey:
    """Convert a JWK to a public key, rejecting keys that do not fit `alg` (RS256 or ES256)."""
    try:
        return _convert_jwk(jwk, alg)
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        raise TokenError(f"key {jwk.get('kid')!r} is not a valid JWK") from None


def _convert_jwk(jwk: dict[str, Any], alg: str) -> PublicKey:
    if jwk.get("alg") not in (None, alg):
        raise TokenError(f"key {jwk.get('kid')!r} is for {jwk.get('alg')!r}, not {alg}")
    if jwk.get("use") not in (None, "sig"):
        raise TokenError(f"key {jwk.get('kid')!r} is not a signing key (use={jwk.get('use')!r})")
    if alg == "RS256":
        if jwk.get("kty") != "RSA":
            raise TokenError(
                f"RS256 needs an RSA key, key {jwk.get('kid')!r} is {jwk.get('kty')!r}"
            )
        rsa_key = RSAAlgorithm.from_jwk(jwk)
        public = rsa_key.public_key() if isinstance(rsa_key, rsa.RSAPrivateKey) else rsa_key
        if public.key_size < MIN_RSA_BITS:
            raise TokenError(f"RSA key {jwk.get('kid')!r} is shorter than {MIN_RSA_BITS} bits")
        return public
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise TokenError(f"ES256 needs an EC P-256 key, key {jwk.get('kid')!r} is not one")
    ec_key = ECAlgorithm.from_jwk(jwk)
    return ec_key.public_key() if isinstance(ec_key, ec.EllipticCurvePrivateKey) else ec_key


@dataclass
class _CachedSet:
    keys: list[dict[str, Any]]
    fetched_at: float


@dataclass
class _PinnedFile:
    version: tuple[int, int, int]
    keys: list[dict[str, Any]] = field(default_factory=list)


class JwksCache:
    """Find the public key for a token: pinned keys first, then allow-listed JWKS URLs.

    A `jku` that is not on the issuer's allow-list is never fetched (see `key_for`). Fetched
    sets are kept for `jwks_cache_seconds` and refreshed early when a `kid` is unknown, but
    each issuer is fetched at most once per `jwks_min_refresh_seconds`.
    """

    def __init__(
        self,
        trust: PassportTrust,
        fetcher: JwksFetcher = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.trust = trust
        self.fetcher = fetcher
        self.clock = clock
        self._sets: dict[str, _CachedSet] = {}
        self._last_fetch: dict[str, float] = {}
        self._pinned_files: dict[str, _PinnedFile] = {}
        self._lock = threading.Lock()

    def key_for(
        self, issuer: TrustedIssuer, kid: str | None, jku: str | None, alg: str
    ) -> PublicKey:
        """Return the key that verifies a token from `issuer` with header `kid`, `jku`, `alg`.

        A `jku` that is not in the issuer's `jku_allowlist` is never fetched. The token is
        still verified when the issuer has pinned keys (`jwks` or `jwks_file`) and `kid`
        names one of them. GA4GH AAI 1.2 lets a clearinghouse skip the `jku` fetch when it
        received the keys of that `iss` out of band, and requires the allow-list check only
        before a fetch. Only the pinned key decides whether the signature is valid, so the
        URL in the header cannot make Consentry trust another key.
        """
        if jku is not None and jku not in issuer.jku_allowlist:
            return public_key_from_jwk(self._pinned_key_for_unlisted_jku(issuer, kid, jku), alg)
        urls = (jku,) if jku is not None else issuer.jku_allowlist
        if not issuer.fetch_jku:
            urls = ()

        with self._lock:
            candidates = self._pinned_keys(issuer)
            jwk = _select(candidates, kid)
            if jwk is None:
                for url in urls:
                    keys = self._url_keys(issuer.iss, url, kid)
                    candidates = candidates + keys
                    jwk = _select(keys, kid)
                    if jwk is not None:
                        break
        if jwk is None:
            jwk = _select_single(candidates, kid, issuer.iss)
        return public_key_from_jwk(jwk, alg)

    def _pinned_key_for_unlisted_jku(
        self, issuer: TrustedIssuer, kid: str | None, jku: str
    ) -> dict[str, Any]:
        with self._lock:
            jwk = _select(self._pinned_keys(issuer), kid)
        if jwk is not None:
            return jwk
        quoted_jku = jku if len(jku) <= MAX_SHOWN_JKU else jku[:MAX_SHOWN_JKU] + "..."
        message = (f"jku {quoted_jku!r} is not in the jku_allowlist of trusted issuer "
                   f"{issuer.iss!r} in auth.trust")
        if issuer.jwks is None and issuer.jwks_file is None:
            raise TokenError(f"{message}; add it there, or pin the issuer's keys with jwks_file")
        raise TokenError(f"{message}, and no key pinned in its jwks or jwks_file has kid {kid!r}")

    def _pinned_keys(self, issuer: TrustedIssuer) -> list[dict[str, Any]]:
        keys = [key for key in (issuer.jwks or {}).get("keys", []) if isinstance(key, dict)]
        if issuer.jwks_file is None:
            return keys
        try:
            status = issuer.jwks_file.stat()
            version = (status.st_ino, status.st_size, status.st_mtime_ns)
            cached = self._pinned_files.get(issuer.iss)
            if cached is None or cached.version != version:
                cached = _PinnedFile(version, issuer.read_jwks_file())
                self._pinned_files[issuer.iss] = cached
        except (OSError, ValueError) as exc:
            logger.warning("cannot read pinned JWKS file of iss=%s: %s", issuer.iss, exc)
            return keys
        return keys + cached.keys

    def _url_keys(self, iss: str, url: str, kid: str | None) -> list[dict[str, Any]]:
        now = self.clock()
        cached = self._sets.get(url)
        fresh = cached is not None and now - cached.fetched_at < self.trust.jwks_cache_seconds
        if fresh and cached is not None and (kid is None or _select(cached.keys, kid)):
            return cached.keys

        last = self._last_fetch.get(iss)
        if last is not None and now - last < self.trust.jwks_min_refresh_seconds:
            logger.debug("JWKS refresh for iss=%s skipped: rate limit", iss)
            return cached.keys if cached is not None else []

        self._last_fetch[iss] = now
        try:
            keys = _parse_jwks(self.fetcher(url, self.trust.jwks_fetch_timeout_seconds))
        except (OSError, ValueError, urllib.error.URLError) as exc:
            logger.warning("JWKS fetch for iss=%s from %s failed: %s", iss, url, exc)
            return cached.keys if cached is not None else []
        logger.info("fetched JWKS for iss=%s from %s: %d keys", iss, url, len(keys))
        self._sets[url] = _CachedSet(keys, now)
        return keys


def _parse_jwks(body: bytes) -> list[dict[str, Any]]:
    document = json.loads(body)
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError("JWKS document has no `keys` list")
    return [key for key in keys if isinstance(key, dict)]


def _select(keys: list[dict[str, Any]], kid: str | None) -> dict[str, Any] | None:
    if kid is None:
        return None
    return next((key for key in keys if key.get("kid") == kid), None)


def _select_single(keys: list[dict[str, Any]], kid: str | None, iss: str) -> dict[str, Any]:
    """Without a `kid` header, accept only an issuer that has exactly one key."""
    if kid is not None:
        raise TokenError(
            f"no key with kid {kid!r} is known for issuer {iss!r}; the token may come from "
            "another node's broker or state folder"
        )
    if len(keys) != 1:
        raise TokenError(f"token has no kid and issuer {iss!r} has {len(keys)} keys")
    return keys[0]
