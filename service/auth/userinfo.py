"""The Visa Access Token flow: verify a broker's access token and read its visas from userinfo.

GA4GH AAI 1.2 (Clearinghouses, "at-polling") treats visas read this way as valid for at
most one hour unless the clearinghouse polls the userinfo endpoint again, and HTTP 401
from userinfo as revocation. Consentry caps each identity's `earliest_exp` at one hour
after the poll, so the verified-passport cache polls again once that hour is over.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from service.auth.access_tokens import access_token_issuer, verify_access_token
from service.auth.errors import InvalidAuthentication
from service.auth.jws import TokenError
from service.auth.models import Identity, token_id
from service.auth.passport import PASSPORT_CLAIM, PassportVerifier, log_identity
from service.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

USERINFO_TRUST_SECONDS = 3600
MAX_USERINFO_BYTES = 256 * 1024
FIRST_BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 300.0

# Return the userinfo JSON for an access token. Raise InvalidAuthentication when the
# broker rejects the token, OSError or ValueError when the endpoint cannot be used.
UserinfoSource = Callable[[str], dict[str, Any]]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects, so the access token is only ever sent to the configured URL."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def http_userinfo(url: str, timeout: float) -> UserinfoSource:
    """Return a UserinfoSource that GETs `url` with the access token as a bearer token."""

    def fetch(token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        request = urllib.request.Request(url, headers=headers)
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                body: bytes = response.read(MAX_USERINFO_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 401:
                raise InvalidAuthentication(
                    "the broker's userinfo endpoint rejected the access token "
                    "(revoked or expired); get a new token from the broker"
                ) from None
            raise OSError(f"userinfo endpoint {url} returned HTTP {exc.code}") from None
        if len(body) > MAX_USERINFO_BYTES:
            raise ValueError(f"userinfo response from {url} is larger than "
                             f"{MAX_USERINFO_BYTES} bytes")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError(f"userinfo response from {url} is not a JSON object")
        return document

    return fetch


class UserinfoVerifier:
    """Turn a passport-scoped access token into an Identity via its broker's userinfo."""

    def __init__(
        self,
        passports: PassportVerifier,
        sources: Mapping[str, UserinfoSource],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.passports = passports
        self.sources = dict(sources)
        self.clock = clock
        self._backoff: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def accepts(self, token: str | None) -> bool:
        """Return whether `token` is an access token from a broker with a userinfo source."""
        if not token:
            return False
        return access_token_issuer(token) in self.sources

    def verify(self, token: str | None) -> Identity:
        """Verify the access token, poll userinfo and verify the visas it returns."""
        if not token:
            raise InvalidAuthentication("no access token was sent")
        now = self.clock()
        trust = self.passports.trust
        try:
            claims = verify_access_token(token, trust, self.passports.keys, now)
        except TokenError as exc:
            logger.info("access token rejected: %s", exc)
            raise InvalidAuthentication(f"access token rejected: {exc}") from None

        document = self._poll(claims["iss"], token, now)
        if document.get("sub") != claims["sub"]:
            raise InvalidAuthentication("userinfo `sub` does not match the access token's `sub`")
        visas = document.get(PASSPORT_CLAIM, [])
        if not isinstance(visas, list):
            raise InvalidAuthentication(f"userinfo claim {PASSPORT_CLAIM!r} is not a list")

        valid_until = min(float(claims["exp"]), now + USERINFO_TRUST_SECONDS)
        identity = self.passports.identity_from_visas(
            claims, token_id(claims, token), visas, valid_until
        )
        log_identity(identity, "access token")
        return identity

    def _poll(self, iss: str, token: str, now: float) -> dict[str, Any]:
        """Call the issuer's userinfo source, backing off after failures."""
        with self._lock:
            failures, retry_at = self._backoff.get(iss, (0, 0.0))
        if now < retry_at:
            raise ServiceUnavailable(
                f"the userinfo endpoint of broker {iss!r} failed recently; "
                f"retry in {int(retry_at - now) + 1} s"
            )
        try:
            document = self.sources[iss](token)
        except (OSError, ValueError) as exc:
            delay = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2**failures)
            with self._lock:
                self._backoff[iss] = (failures + 1, now + delay)
            logger.warning("userinfo poll for iss=%s failed (%d in a row): %s; next try in %.0f s",
                           iss, failures + 1, exc, delay)
            raise ServiceUnavailable(
                f"the userinfo endpoint of broker {iss!r} could not be read; retry later"
            ) from None
        with self._lock:
            self._backoff.pop(iss, None)
        return document
