"""The chain store interface that every backend (SQLite now, etcd later) implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredTransaction:
    """One transaction as stored: its envelope bytes, position and hashes."""

    leaf_index: int
    height: int
    tx_index: int
    tx_hash: bytes
    leaf_hash: bytes
    envelope: bytes


@dataclass(frozen=True)
class StoredBlock:
    """One block as stored: sealed header bytes, its hash and link, and its transactions."""

    height: int
    block_hash: bytes
    prev_hash: bytes
    header: bytes
    transactions: tuple[StoredTransaction, ...]


@dataclass(frozen=True)
class ChainHead:
    """The newest stored block and the size of the transaction log it closes."""

    height: int
    block_hash: bytes
    log_size: int


class ChainStore(Protocol):
    """Append-only storage of blocks for one chain.

    Stores keep bytes exactly as given and do not verify signatures or
    roots: `verify.verify_chain` does that. They do enforce the link. An
    append succeeds only when its height is head + 1 (1 for an empty store)
    and its prev_hash is the head's block hash (the chain id for height 1).
    Its first leaf index must also equal the head's log size. `append_block` returns only
    after the block is durably committed, and a failed append commits nothing.
    Implementations raise StoreConflict for a rejected append, BlockNotFound
    for a missing position and StoreUnavailable when the backend fails.
    """

    chain_id: str

    def head(self) -> ChainHead | None:
        """Return the newest block's position, or None for an empty chain."""
        ...

    def append_block(self, block: StoredBlock) -> None:
        """Durably append `block` after the head."""
        ...

    def block_at(self, height: int) -> StoredBlock:
        """Return the block at `height`, with its transactions in order."""
        ...

    def transaction_at(self, leaf_index: int) -> StoredTransaction:
        """Return the transaction at position `leaf_index` of the log."""
        ...

    def find_transaction(self, tx_hash: bytes) -> StoredTransaction | None:
        """Return the transaction with `tx_hash`, or None if it is not stored."""
        ...

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the leaf hashes of log positions [start, end)."""
        ...

    def close(self) -> None:
        """Release the backend's resources; later calls fail."""
        ...
