"""The storage interface every backend implements."""

from __future__ import annotations

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
