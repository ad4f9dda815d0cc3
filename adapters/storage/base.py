"""The storage interface every backend implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ObjectInfo:
    """Size and version of a stored object.

    `version` changes whenever the content may have changed (the S3 ETag, or
    the size and modification time of a local file), so caches key on it.
    """

    key: str
    size: int
    version: str


@dataclass(frozen=True)
class RangeUrl:
    """A short-lived URL for bytes `[start, end)` of one object.

    `headers` must be sent with the URL; it carries the `Range` header.
    """

    url: str
    headers: dict[str, str] = field(default_factory=dict)


class ByteSource(Protocol):
    """Anything with a binary `read`, such as an open file."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to `size` bytes (all remaining bytes if negative); b"" at the end."""
        ...


class Storage(Protocol):
    """Read access to objects by key, plus signed URLs for byte ranges.

    Keys are relative, `/`-separated paths that the caller has already
    checked (no `..`, no leading `/`). Backends raise `ObjectNotFound` for
    a missing key and `StorageUnavailable` when the backend fails.
    """

    name: str

    def head(self, key: str) -> ObjectInfo:
        """Return the size and version of `key`."""
        ...

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Return bytes `[start, end)` of `key`; fewer if the object is shorter."""
        ...

    def read_all(self, key: str) -> bytes:
        """Return the whole object (used for indexes, which are small)."""
        ...

    def range_url(self, key: str, start: int, end: int, expires_in: int) -> RangeUrl:
        """Return a URL valid for `expires_in` seconds that serves bytes `[start, end)`."""
        ...

    def object_url(self, key: str, size: int, expires_in: int) -> str:
        """Return a URL valid for `expires_in` seconds that serves the whole object.

        The URL needs no extra headers; a client may add its own `Range` header.
        """
        ...

    def upload(
        self, key: str, source: ByteSource, progress: Callable[[int], None] | None = None
    ) -> None:
        """Store everything `source.read()` returns under `key`, replacing any object there.

        `progress` is called with the number of bytes sent since its last call.
        A failed upload raises `StorageUnavailable` and leaves no partial object.
        """
        ...
