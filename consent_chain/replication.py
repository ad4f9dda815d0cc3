"""A follower node: mirror a replicated chain into a local store, verifying every block.

Each institution runs a follower. It reads the blocks it lacks from the
replicated store, then watches the store for new blocks and cosignatures
(etcd's `/v3/watch` stream, reopened after any break). Every block is
verified against the state of the blocks before it (links, proposer and
transaction signatures under the registry in force, sequence numbers,
policies and Merkle roots) before it is appended to the local mirror,
which serves queries and proofs. With a signer the follower also cosigns
each block it verified.

A block that fails verification is never skipped: the follower halts, keeps
the evidence, logs it at ERROR and calls the alarm hook. So does a block key
rewritten with different bytes, and a valid cosignature naming another
block. Two different validly signed blocks at one height are reported as
equivocation, with both signatures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from consent_chain.blocks import decode_header, has_valid_block_signature
from consent_chain.checkpoints import TrustedKey, trusted_keys
from consent_chain.cosign import CosignatureBook, FinalityRule, cosign
from consent_chain.crypto import Signer
from consent_chain.errors import ChainError, InvalidBlock, StoreUnavailable
from consent_chain.genesis import Genesis
from consent_chain.replication_core import ChainFeed, FeedEvent, FeedWatch, verify_next_block
from consent_chain.store import ChainStore, StoredBlock
from consent_chain.verify import Replay, replay_chain

logger = logging.getLogger(__name__)

FollowerState = Literal["starting", "following", "halted", "stopped"]
EvidenceKind = Literal["invalid_block", "rewritten_block", "equivocation",
                       "conflicting_cosignature", "corrupt_mirror"]
PAGE_BLOCKS = 64
RETRY_SECONDS = 0.2


class ChainHalted(ChainError):
    """Raised once the follower stopped trusting the chain; its evidence gives the reason."""


@dataclass(frozen=True)
class SignedStatement:
    """One signed claim about the block at a height: who signed which block hash, and how."""

    signer: str
    key_id: str
    block_hash: str
    signature: str
    kind: Literal["block", "checkpoint"]


@dataclass(frozen=True)
class HaltEvidence:
    """Why a follower halted: the height, the kind of fault, a message and signed statements."""

    height: int
    kind: EvidenceKind
    reason: str
    statements: tuple[SignedStatement, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind} at height {self.height}: {self.reason}"


@dataclass(frozen=True)
class FollowerStatus:
    """A follower's state, mirrored head, greatest final height and halt evidence."""

    state: FollowerState
    height: int
    block_hash: str
    final_height: int
    evidence: HaltEvidence | None


class ChainFollower:
    """Mirrors one replicated chain into `mirror` after verifying each block."""

    def __init__(self, feed: ChainFeed, mirror: ChainStore, genesis: Genesis, *,
                 member: str | None = None, signer: Signer | None = None,
                 finality: FinalityRule = "proposer",
                 on_alarm: Callable[[HaltEvidence], None] | None = None) -> None:
        if (member is None) != (signer is None):
            raise ValueError("a cosigning follower needs both member and signer")
        self.feed, self.mirror, self.genesis = feed, mirror, genesis
        self.member, self._signer = member, signer
        self.book = CosignatureBook(genesis.chain_id, finality)
        self._on_alarm = on_alarm
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._state: FollowerState = "starting"
        self._evidence: HaltEvidence | None = None
        self._watch: FeedWatch | None = None
        self._thread: threading.Thread | None = None
        report, self._replay = replay_chain(mirror, genesis)
        if not report.ok and report.failure is not None:
            failure = report.failure
            self._halt(HaltEvidence(failure.height, "corrupt_mirror", str(failure)))
        self.book.record_block(self._replay.height, self._replay.block_hash, self._replay.state)

    @property
    def replay(self) -> Replay:
        """State, log frontier and head of the verified mirror."""
        return self._replay

    def status(self) -> FollowerStatus:
        """Return the follower's state, head, final height and any halt evidence."""
        with self._condition:
            return FollowerStatus(self._state, self._replay.height,
                                  self._replay.block_hash.hex(), self.book.final_height(),
                                  self._evidence)

    def is_final(self, height: int) -> bool:
        """Return whether block `height` is final; raise ChainHalted once trust has stopped."""
        evidence = self._evidence
        if evidence is not None:
            raise ChainHalted(f"the consent chain follower halted: {evidence}")
        return self.book.is_final(height)

    def start(self) -> None:
        """Start following in a background thread."""
        if self._thread is not None:
            raise ChainError("the follower is already started")
        self._thread = threading.Thread(target=self._run, name="consent-chain-follower",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following and wait for the background thread (the mirror stays open)."""
        self._stopping.set()
        with self._condition:
            watch = self._watch
        if watch is not None:
            watch.close()
        if self._thread is not None:
            self._thread.join()
        with self._condition:
            if self._state != "halted":
                self._state = "stopped"
            self._condition.notify_all()

    def wait_for_height(self, height: int, timeout: float) -> bool:
        """Wait until the mirror reaches `height`; return False on timeout or halt."""
        with self._condition:
            self._condition.wait_for(
                lambda: self._replay.height >= height or self._state in ("halted", "stopped"),
                timeout,
            )
            return self._replay.height >= height

    def wait_for_final(self, height: int, timeout: float) -> bool:
        """Wait until block `height` is final; return False on timeout or halt."""
        with self._condition:
            self._condition.wait_for(
                lambda: self.book.is_final(height) or self._state in ("halted", "stopped"),
                timeout,
            )
            return self.book.is_final(height)

    def sync(self) -> int:
        """Read and verify every block the mirror lacks, once; return the store revision read."""
        revision = 0
        while not self._halted():
            page = self.feed.read_blocks(self._replay.height + 1, PAGE_BLOCKS)
            revision = page.revision
            for event in page.events:
                self._on_block(event, cosign_now=False)
                if self._halted():
                    return revision
            self._cosign_head()
            if not page.more:
                break
        cosignatures = self.feed.read_cosignatures(max(self.book.final_height(), 1))
        for event in cosignatures.events:
            self._on_cosignature(event)
        return revision

    def _halted(self) -> bool:
        return self._evidence is not None

    def _run(self) -> None:
        with self._condition:
            if self._state == "starting":
                self._state = "following"
        while not self._stopping.is_set() and not self._halted():
            try:
                revision = self.sync()
                if self._halted():
                    break
                self._follow(self.feed.watch(revision + 1))
            except (StoreUnavailable, ChainError) as error:
                logger.warning("consent chain follower lost the store feed: %s; retrying in "
                               "%.1f s", error, RETRY_SECONDS)
                self._stopping.wait(RETRY_SECONDS)
            except Exception:
                logger.exception("consent chain follower failed; retrying in %.1f s",
                                 RETRY_SECONDS)
                self._stopping.wait(RETRY_SECONDS)

    def _follow(self, watch: FeedWatch) -> None:
        with self._condition:
            self._watch = watch
        try:
            if self._stopping.is_set():
                return
            for event in watch.events():
                if event.kind == "block":
                    self._on_block(event, cosign_now=True)
                else:
                    self._on_cosignature(event)
                if self._halted() or self._stopping.is_set():
                    return
        finally:
            watch.close()
            with self._condition:
                self._watch = None

    def _on_block(self, event: FeedEvent, cosign_now: bool) -> None:
        next_height = self._replay.height + 1
        if event.height > next_height:
            self.sync()
        elif event.height < next_height:
            self._check_unchanged(event)
        elif event.block is None:
            self._halt(HaltEvidence(event.height, "invalid_block",
                                    f"stored value is not a block: {event.malformed}"))
        else:
            self._append(event.block)
            if cosign_now:
                self._cosign_head()

    def _append(self, block: StoredBlock) -> None:
        candidate = replace(self._replay)
        failure = verify_next_block(candidate, block)
        if failure is not None:
            self._halt(HaltEvidence(block.height, "invalid_block", str(failure),
                                    _block_statements(block)))
            return
        self.mirror.append_block(block)
        with self._condition:
            self._replay = candidate
            self.book.record_block(block.height, block.block_hash, candidate.state)
            self._condition.notify_all()
        logger.debug("mirrored block height=%d txs=%d", block.height, len(block.transactions))

    def _check_unchanged(self, event: FeedEvent) -> None:
        mirrored = self.mirror.block_at(event.height)
        if event.block == mirrored:
            return
        ours = _block_statements(mirrored)
        theirs = _block_statements(event.block) if event.block is not None else ()
        keys = trusted_keys(self._replay.state)
        if theirs and _signature_valid(event.block, keys):
            self._halt(HaltEvidence(
                event.height, "equivocation",
                f"two different blocks at height {event.height} are both signed by "
                f"{theirs[0].signer!r} (block hashes {ours[0].block_hash} and "
                f"{theirs[0].block_hash})", ours + theirs,
            ))
            return
        self._halt(HaltEvidence(event.height, "rewritten_block",
                                f"the stored block at height {event.height} was replaced by "
                                "bytes without a valid proposer signature", ours + theirs))

    def _on_cosignature(self, event: FeedEvent) -> None:
        if event.member is None or event.cosignature is None:
            return
        conflict = self.book.add(event.height, event.member, event.cosignature)
        if conflict is not None:
            body = conflict.checkpoint.body
            mirrored = _block_statements(self.mirror.block_at(conflict.height))
            theirs = SignedStatement(body["signer"], body["key_id"], body["block_hash"],
                                     conflict.checkpoint.signature.hex(), "checkpoint")
            self._halt(HaltEvidence(
                conflict.height, "conflicting_cosignature",
                f"member {conflict.member!r} cosigned block {body['block_hash']} at height "
                f"{conflict.height}, but the verified block is {conflict.our_block_hash.hex()}",
                (*mirrored, theirs),
            ))
            return
        with self._condition:
            self._condition.notify_all()

    def _cosign_head(self) -> None:
        replay = self._replay
        if self._signer is None or self.member is None or replay.height == 0:
            return
        key = replay.state.keys.get(self._signer.key_id)
        if key is None or key.member != self.member or not key.active:
            logger.warning("not cosigning height %d: key %s is not an active key of %r",
                           replay.height, self._signer.key_id, self.member)
            return
        data = cosign(self._signer, self.member, self.genesis.chain_id, replay)
        try:
            self.feed.publish_cosignature(replay.height, self.member, data)
        except StoreUnavailable as error:
            logger.warning("publishing the cosignature at height %d failed: %s",
                           replay.height, error)
            return
        self._on_cosignature(FeedEvent("cosignature", replay.height, 0, member=self.member,
                                       cosignature=data))

    def _halt(self, evidence: HaltEvidence) -> None:
        with self._condition:
            if self._evidence is not None:
                return
            self._evidence, self._state = evidence, "halted"
            self._condition.notify_all()
        logger.error("consent chain follower halted and no longer trusts the chain: %s",
                     evidence)
        if self._on_alarm is not None:
            self._on_alarm(evidence)


def _block_statements(block: StoredBlock) -> tuple[SignedStatement, ...]:
    try:
        sealed = decode_header(block.header)
    except InvalidBlock:
        return ()
    header = sealed.header
    return (SignedStatement(str(header["proposer"]), str(header["key_id"]),
                            sealed.block_hash.hex(), sealed.signature.hex(), "block"),)


def _signature_valid(block: StoredBlock | None, keys: Mapping[str, TrustedKey]) -> bool:
    """Return whether the block's proposer signature verifies under a key of that proposer."""
    if block is None:
        return False
    try:
        sealed = decode_header(block.header)
    except InvalidBlock:
        return False
    key = keys.get(str(sealed.header["key_id"]))
    if key is None or key.member != sealed.header["proposer"]:
        return False
    return has_valid_block_signature(sealed, key.public_key)
