"""Pieces shared by proposers and followers of a chain kept in a replicated store.

A replicated store (etcd) lets several institutions append. `AppendConflict`
reports to a proposer that another one extended the chain first, `ChainFeed` is
what a follower reads and watches, and `verify_next_block` checks one block
against the state the previous blocks produced, with the same code
`verify.verify_chain` runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from consent_chain.errors import StoreConflict
from consent_chain.store import ChainHead, StoredBlock
from consent_chain.verify import Replay, VerifyFailure, _Failed, _verify_block

EventKind = Literal["block", "cosignature"]


class AppendConflict(StoreConflict):
    """Another writer appended at the block's height first; rebase on `head` and retry."""

    def __init__(self, message: str, head: ChainHead | None) -> None:
        super().__init__(message)
        self.head = head


@dataclass(frozen=True)
class FeedEvent:
    """A block or cosignature written to the replicated store, at store revision `revision`.

    `block` is None when the stored bytes are not a block; `malformed` then gives the reason.
    """

    kind: EventKind
    height: int
    revision: int
    block: StoredBlock | None = None
    member: str | None = None
    cosignature: bytes | None = None
    malformed: str | None = None


@dataclass(frozen=True)
class FeedPage:
    """Events read by range at store revision `revision`; `more` is set when the page was full."""

    events: list[FeedEvent]
    revision: int
    more: bool


class FeedWatch(Protocol):
    """An open watch on the chain's keys."""

    def events(self) -> Iterator[FeedEvent]:
        """Yield events in revision order until the watch breaks, goes idle or is closed."""
        ...

    def close(self) -> None:
        """Stop the watch; a thread iterating `events` returns soon after."""
        ...


class ChainFeed(Protocol):
    """Read access to a replicated chain's blocks and cosignatures, plus cosignature writes."""

    chain_id: str

    def read_blocks(self, start_height: int, limit: int) -> FeedPage:
        """Return the blocks at heights >= `start_height`, at most `limit`, in height order."""
        ...

    def read_cosignatures(self, start_height: int) -> FeedPage:
        """Return every cosignature stored for heights >= `start_height`."""
        ...

    def watch(self, start_revision: int) -> FeedWatch:
        """Watch block and cosignature writes from store revision `start_revision` on."""
        ...

    def publish_cosignature(self, height: int, member: str, value: bytes) -> bool:
        """Store `member`'s cosignature for `height` unless one exists; return whether it did."""
        ...


def verify_next_block(replay: Replay, block: StoredBlock) -> VerifyFailure | None:
    """Verify `block` as the successor of `replay`; advance `replay` only if it passes."""
    # NOTE: this wraps verify's private per-block step; a public equivalent in
    # consent_chain.verify would let this module drop the private import.
    if block.height != replay.height + 1:
        return VerifyFailure(block.height, None,
                             f"block is at height {block.height}, not the next height "
                             f"{replay.height + 1}")
    try:
        _verify_block(replay, block)
    except _Failed as failed:
        return failed.failure
    return None
