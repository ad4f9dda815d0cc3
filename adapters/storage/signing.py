"""HMAC-signed, expiring URLs for byte ranges served by Consentry's own data endpoint.

The signature covers the object key, the byte range and the expiry time, so
a URL serves exactly the signed bytes of one object until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode


class InvalidSignature(Exception):
    """A data URL is unsigned, tampered with or expired."""


@dataclass(frozen=True)
class SignedRange:
    """The object key and byte range `[start, end)` a verified data URL grants."""

    key: str
    start: int
    end: int
    expires: int


class DataUrlSigner:
    """Create and check signed `/data/<key>` URLs under a public base URL."""

    def __init__(self, base_url: str, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the data URL signing key must be at least 32 bytes")
        self.base_url = base_url.rstrip("/")
        self._secret = secret

    def _mac(self, key: str, start: int, end: int, expires: int) -> str:
        message = f"consentry-data-url-v1\n{key}\n{start}\n{end}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, key: str, start: int, end: int, expires_in: int) -> str:
        """Return a URL for bytes `[start, end)` of `key`, valid for `expires_in` seconds."""
        expires = int(time.time()) + expires_in
        query = urlencode(
            {"start": start, "end": end, "expires": expires,
             "signature": self._mac(key, start, end, expires)}
        )
        return f"{self.base_url}/data/{quote(key)}?{query}"

    def verify(self, key: str, start: int, end: int, expires: int, signature: str) -> SignedRange:
        """Check a URL's parameters and return the range it grants."""
        expected = self._mac(key, start, end, expires)
        if not hmac.compare_digest(expected, signature):
            raise InvalidSignature("the data URL signature does not match; request a new ticket")
        if expires < time.time():
            raise InvalidSignature("the data URL has expired; request a new ticket")
        return SignedRange(key, start, end, expires)
