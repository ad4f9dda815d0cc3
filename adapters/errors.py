"""Errors raised by adapters.

The domain layer translates these into the spec's vocabulary (NotFound,
InvalidInput, ...); adapters never decide HTTP statuses.
"""


class AdapterError(Exception):
    """Base class for every error an adapter raises."""


class ObjectNotFound(AdapterError):
    """The storage backend has no object under the requested key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object with key {key!r}")
        self.key = key


class StorageUnavailable(AdapterError):
    """The storage backend failed or timed out; the request may be retried."""


class FormatError(AdapterError):
    """A file or index is truncated, corrupt or not of the expected format."""
