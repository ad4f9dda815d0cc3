"""Errors raised by the consent chain."""

from __future__ import annotations


class ChainError(Exception):
    """Base class for every consent chain error."""


class CanonicalError(ChainError):
    """A value cannot be encoded as, or bytes are not, canonical JSON (RFC 8785)."""


class InvalidGenesis(ChainError):
    """The genesis document is malformed or inconsistent."""


class InvalidTransaction(ChainError):
    """A transaction is malformed, wrongly signed, out of sequence or not allowed by policy."""


class InvalidBlock(ChainError):
    """A block header is malformed or wrongly signed."""


class InvalidProof(ChainError):
    """A Merkle proof, checkpoint or receipt does not verify."""


class StoreConflict(ChainError):
    """An append does not extend the stored head (wrong height or previous hash)."""


class BlockNotFound(ChainError):
    """The store has no block or transaction at the requested position."""


class StoreUnavailable(ChainError):
    """The chain store failed; nothing was committed by the failing call."""


class ChainCorrupted(ChainError):
    """The stored chain fails verification, so the ledger refuses to open it."""
