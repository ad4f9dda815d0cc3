"""Cache of verified passports, keyed by the SHA-256 of the token."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from service.auth.models import Identity


class TokenVerifier(Protocol):
    """Anything that turns a bearer token into a verified Identity."""

    def verify(self, token: str | None) -> Identity: ...


class VerifiedPassportCache:
    """Reuse an Identity for a repeated token until the earliest `exp` among its tokens.

    Only successful verifications are cached. The least recently used entry is dropped
    once `max_entries` is reached.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.verifier = verifier
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, Identity] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str | None) -> Identity:
        """Return the cached Identity for `token`, or verify it and cache the result."""
        if not token:
            return self.verifier.verify(token)
        key = hashlib.sha256(token.encode("utf-8")).hexdigest()
        with self._lock:
            identity = self._entries.get(key)
            if identity is not None and self.clock() < identity.earliest_exp:
                self._entries.move_to_end(key)
                return identity
            self._entries.pop(key, None)

        identity = self.verifier.verify(token)
        with self._lock:
            self._entries[key] = identity
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return identity

    def __len__(self) -> int:
        return len(self._entries)
