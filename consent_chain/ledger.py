"""The ledger: validates submitted transactions and seals them into blocks by group commit.

A background thread seals the pending transactions into one block when there
are `max_block_transactions` of them or the oldest has waited
`max_block_delay_ms`, whichever comes first, then appends the block to the
store. Submitters wait on a future that resolves once that append is durable.

With a replicated store several proposers append to one chain. When another
proposer wins the race for a height, the store raises AppendConflict and the
ledger rebases: it verifies the blocks it missed, re-validates the losing
batch and the queued transactions against the new head, and seals again at
the next height.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace

from consent_chain.blocks import build_header, seal_header
from consent_chain.checkpoints import Checkpoint, build_receipt, sign_checkpoint
from consent_chain.crypto import Signer
from consent_chain.errors import (
    BlockNotFound,
    ChainCorrupted,
    ChainError,
    InvalidTransaction,
)
from consent_chain.genesis import Genesis
from consent_chain.merkle import root_hash
from consent_chain.replication_core import AppendConflict, verify_next_block
from consent_chain.state import ChainState
from consent_chain.store import ChainStore, StoredBlock, StoredTransaction
from consent_chain.transactions import SignedTransaction
from consent_chain.verify import Replay, replay_chain

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inclusion:
    """Position of a committed transaction: its hash, block height and log index."""

    tx_hash: bytes
    height: int
    leaf_index: int


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


_Pending = tuple[SignedTransaction, "Future[Inclusion]"]

# Allowance for the sealed header and per-transaction framing when
# `max_block_bytes` caps a block; headers are about 700 bytes.
BLOCK_OVERHEAD_BYTES = 2048
TX_OVERHEAD_BYTES = 96
REBASE_BACKOFF_SECONDS = 0.001


class Ledger:
    """Accepts signed transactions for one chain and commits them in signed blocks.

    The ledger is the only writer of its store. Opening it replays and
    verifies the whole stored chain, and it raises ChainCorrupted rather than
    extend a chain that fails verification.
    """

    def __init__(
        self,
        store: ChainStore,
        genesis: Genesis,
        *,
        proposer: str,
        signer: Signer,
        max_block_transactions: int = 100,
        max_block_delay_ms: int = 20,
        max_block_bytes: int | None = None,
        max_rebase_attempts: int = 100,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        if max_block_transactions < 1 or max_block_delay_ms < 0:
            raise ValueError("max_block_transactions must be >= 1 and max_block_delay_ms >= 0")
        if max_block_bytes is not None and max_block_bytes < 2 * BLOCK_OVERHEAD_BYTES:
            raise ValueError(f"max_block_bytes must be at least {2 * BLOCK_OVERHEAD_BYTES}")
        report, replay = replay_chain(store, genesis)
        if not report.ok:
            raise ChainCorrupted(f"stored chain fails verification at {report.failure}; "
                                 "restore the store from a verified copy")
        replay.state.block_signer_key(proposer, signer.key_id)
        self.store, self.genesis = store, genesis
        self.proposer, self._signer = proposer, signer
        self.max_block_transactions = max_block_transactions
        self.max_block_delay_ms = max_block_delay_ms
        self.max_block_bytes = max_block_bytes
        self.max_rebase_attempts = max(max_rebase_attempts, 1)
        self._clock = clock
        self._committed = replay
        self._pending_state = replay.state.copy()
        self._pending: list[_Pending] = []
        self._oldest_pending_at = 0.0
        self._flush_requested = False
        self._closed = False
        self._condition = threading.Condition()
        # Held while `_committed` moves forward: by the sealer while it appends
        # a block, and by `catch_up` while it applies other writers' blocks.
        self._append_lock = threading.Lock()
        self._sealer = threading.Thread(target=self._run, name="consent-chain-sealer", daemon=True)
        self._sealer.start()
        logger.info("ledger opened chain_id=%s height=%d", genesis.chain_id, replay.height)

    @property
    def committed(self) -> Replay:
        """State, log frontier and head after the last durably committed block."""
        return self._committed

    def next_seq(self, member: str) -> int:
        """Return the seq the member's next submitted transaction must carry."""
        with self._condition:
            return self._pending_state.next_seq(member)

    def submit(self, tx: SignedTransaction) -> Future[Inclusion]:
        """Validate `tx` against committed and pending transactions and queue it.

        Raises InvalidTransaction at once if it fails. The returned future
        resolves once the tx's block is durably committed, or fails with the
        store's error.
        """
        self._pending_state.check_signature_early(tx)
        with self._condition:
            if self._closed:
                raise ChainError("the ledger is closed; open a new one to submit")
            self._pending_state.apply(tx)
            future: Future[Inclusion] = Future()
            if not self._pending:
                self._oldest_pending_at = time.monotonic()
            self._pending.append((tx, future))
            self._condition.notify_all()
        return future

    def submit_and_wait(self, tx: SignedTransaction, timeout: float | None = 30.0) -> Inclusion:
        """Submit `tx` and return after its block is durably committed.

        Raises TimeoutError if that takes longer than `timeout` seconds.
        """
        return self.submit(tx).result(timeout)

    def flush(self, timeout: float | None = 30.0) -> None:
        """Seal every pending transaction now and wait until they are committed."""
        # Under the append lock no batch is between `_pending` and the store,
        # so the futures below cover every transaction not yet committed.
        with self._append_lock, self._condition:
            futures = [future for _, future in self._pending]
            self._flush_requested = True
            self._condition.notify_all()
        for future in futures:
            future.exception(timeout)

    def close(self) -> None:
        """Seal what is pending, then stop the sealer thread (the store stays open)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._sealer.join()
        logger.info("ledger closed height=%d", self._committed.height)

    def catch_up(self) -> int:
        """Verify and apply the blocks other writers appended; return how many there were.

        Only the new blocks are read and verified, so the cost grows with
        what was appended since the last commit, not with the chain. Pending
        transactions are checked again on the new head, and those it now
        rejects fail with InvalidTransaction. Raises ChainCorrupted if a new
        block fails verification.
        """
        with self._append_lock:
            before = self._committed.height
            self._rebase([])
            caught_up = self._committed.height - before
        if caught_up:
            logger.info("ledger caught up %d block(s) to height %d", caught_up,
                        self._committed.height)
        return caught_up

    def checkpoint(self) -> Checkpoint:
        """Sign a checkpoint of the committed log with the proposer's key."""
        head = self._committed
        return sign_checkpoint(
            self._signer,
            member=self.proposer,
            chain_id=self.genesis.chain_id,
            tree_size=head.frontier.size,
            root_hash=head.frontier.root(),
            block_height=head.height,
            block_hash=head.block_hash,
            time=max(self._clock(), head.time),
        )

    def receipt(self, tx_hash: bytes, checkpoint: Checkpoint | None = None) -> bytes:
        """Return receipt bytes for a committed transaction under `checkpoint` (default: new)."""
        return build_receipt(self.store, checkpoint or self.checkpoint(), tx_hash)

    def _run(self) -> None:
        while self._wait_for_batch():
            # The lock is held from taking the batch until it is committed, so
            # `catch_up` never rebuilds the pending state while a batch is out
            # of `_pending` but not yet in `_committed`.
            with self._append_lock:
                batch = self._take_batch()
                if batch:
                    self._commit(batch)

    def _wait_for_batch(self) -> bool:
        """Wait until a batch is ready; return False once closed with nothing pending."""
        with self._condition:
            while not self._batch_ready():
                if self._closed and not self._pending:
                    return False
                deadline = self._seconds_to_deadline() if self._pending else None
                self._condition.wait(deadline)
            return True

    def _take_batch(self) -> list[_Pending]:
        """Remove the next block's transactions from `_pending` (none if `catch_up` took them)."""
        with self._condition:
            if not self._batch_ready():
                return []
            size = self._batch_size()
            batch = self._pending[:size]
            del self._pending[:size]
            if self._pending:
                self._oldest_pending_at = time.monotonic()
            else:
                self._flush_requested = False
            return batch

    def _batch_ready(self) -> bool:
        if not self._pending:
            return False
        if self._closed or self._flush_requested:
            return True
        if len(self._pending) >= self.max_block_transactions:
            return True
        return self._seconds_to_deadline() <= 0

    def _seconds_to_deadline(self) -> float:
        elapsed = time.monotonic() - self._oldest_pending_at
        return self.max_block_delay_ms / 1000 - elapsed

    def _batch_size(self) -> int:
        limit = min(len(self._pending), self.max_block_transactions)
        if self.max_block_bytes is None:
            return limit
        total = BLOCK_OVERHEAD_BYTES
        for count, (tx, _) in enumerate(self._pending[:limit]):
            total += len(tx.envelope) + TX_OVERHEAD_BYTES
            if total > self.max_block_bytes:
                return max(count, 1)
        return limit

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            batch, inclusions = self._append_rebasing(batch)
        except Exception as error:
            logger.error("sealing block height=%d failed: %s", self._committed.height + 1, error)
            self._fail_pending(batch, error)
            return
        for (_, future), inclusion in zip(batch, inclusions, strict=True):
            future.set_result(inclusion)

    def _append_rebasing(self, batch: list[_Pending]) -> tuple[list[_Pending], list[Inclusion]]:
        for attempt in range(1, self.max_rebase_attempts + 1):
            try:
                return batch, self._seal_and_append([tx for tx, _ in batch])
            except AppendConflict as conflict:
                if attempt == self.max_rebase_attempts:
                    raise
                logger.info("rebasing after a lost append race (attempt %d): %s",
                            attempt, conflict)
                # Random backoff, so two proposers that keep colliding drift apart.
                time.sleep(random.uniform(0, min(attempt, 20) * REBASE_BACKOFF_SECONDS))
                batch = self._rebase(batch)
                if not batch:
                    return [], []
        raise AssertionError("unreachable")

    def _rebase(self, batch: list[_Pending]) -> list[_Pending]:
        """Catch up with the store, then keep the transactions still valid on the new head."""
        self._catch_up()
        with self._condition:
            state = self._committed.state.copy()
            kept = _revalidate(state, batch)
            self._pending = _revalidate(state, self._pending)
            self._pending_state = state
        return kept

    def _catch_up(self) -> None:
        """Verify and apply the blocks other proposers appended since our last commit."""
        replay = replace(self._committed)
        # Read block keys until one is missing rather than trusting the head
        # record, so a block written without a head update is verified too.
        while True:
            try:
                block = self.store.block_at(replay.height + 1)
            except BlockNotFound:
                break
            failure = verify_next_block(replay, block)
            if failure is not None:
                raise ChainCorrupted(f"a block appended by another proposer fails "
                                     f"verification at {failure}; stop and investigate the "
                                     "store before sealing more blocks")
        self._committed = replay

    def _seal_and_append(self, txs: list[SignedTransaction]) -> list[Inclusion]:
        base = self._committed
        state = base.state.copy()
        config_hash = state.config_hash()
        state.block_signer_key(self.proposer, self._signer.key_id)
        for tx in txs:
            state.apply(tx)
        leaves = [tx.leaf_hash for tx in txs]
        frontier = base.frontier.copy()
        for leaf in leaves:
            frontier.append(leaf)
        height, block_time = base.height + 1, max(self._clock(), base.time)
        sealed = seal_header(self._signer, build_header(
            chain_id=self.genesis.chain_id, height=height, prev_hash=base.block_hash,
            time=block_time, proposer=self.proposer, key_id=self._signer.key_id,
            config_hash=config_hash, tx_count=len(txs), tx_root=root_hash(leaves),
            log_size=frontier.size, log_root=frontier.root(),
        ))
        stored = tuple(
            StoredTransaction(base.frontier.size + index, height, index, tx.tx_hash,
                              tx.leaf_hash, tx.envelope)
            for index, tx in enumerate(txs)
        )
        self.store.append_block(
            StoredBlock(height, sealed.block_hash, base.block_hash, sealed.encoded, stored)
        )
        self._committed = Replay(state, frontier, height, sealed.block_hash, block_time)
        logger.debug("committed block height=%d txs=%d", height, len(txs))
        return [Inclusion(item.tx_hash, height, item.leaf_index) for item in stored]

    def _fail_pending(self, batch: list[_Pending], error: Exception) -> None:
        # Later pending transactions were validated against state that assumed
        # this batch would commit, so they fail too and the state is rebuilt.
        with self._condition:
            rest, self._pending = self._pending, []
            self._pending_state = self._committed.state.copy()
        for _, future in batch:
            future.set_exception(error)
        for _, future in rest:
            future.set_exception(ChainError(f"an earlier block failed to commit: {error}"))


def _revalidate(state: ChainState, items: list[_Pending]) -> list[_Pending]:
    """Apply each queued transaction to `state`; fail and drop those it now rejects."""
    kept = []
    for tx, future in items:
        try:
            state.apply(tx)
        except InvalidTransaction as error:
            future.set_exception(error)
            continue
        kept.append((tx, future))
    return kept
