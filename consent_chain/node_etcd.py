"""A chain node whose blocks live in etcd, on a chain shared with other institutions.

The node's ledger proposes this institution's blocks to `EtcdChainStore`. A
`ChainFollower` verifies every block, whoever proposed it, and mirrors it
into the node's `chain.sqlite`; that mirror serves the consent state, the
audit index, receipts and proofs. Before each policy decision `refresh`
reads the etcd head and waits until the mirror has reached it, so a
withdrawal recorded by another institution counts from the next request.

The node fails closed. Without an etcd quorum, `refresh` and `submit` raise
StoreUnavailable. Once the follower has halted (a forged block, a rewritten
block, equivocation), they raise ChainHalted until an operator restores a
verified mirror and restarts the node.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from adapters.chain.etcd import EtcdChainStore
from adapters.chain.etcd_tls import EtcdTls
from consent_chain.checkpoints import Checkpoint, build_receipt, sign_checkpoint
from consent_chain.crypto import Signer
from consent_chain.errors import BlockNotFound, InvalidTransaction, StoreConflict, StoreUnavailable
from consent_chain.genesis import Genesis
from consent_chain.ledger import Inclusion, Ledger
from consent_chain.node import (
    ETCD_MARKER_FILE,
    KEY_FILE,
    PSEUDONYM_FILE,
    STORE_FILE,
    SUBMIT_ATTEMPTS,
    ChainNode,
    NodeSettings,
    load_or_create_genesis,
    load_or_create_secret,
)
from consent_chain.replication import ChainFollower, ChainHalted, FollowerStatus, HaltEvidence
from consent_chain.state import ChainState
from consent_chain.store import ChainHead, StoredBlock
from consent_chain.store_sqlite import SqliteChainStore

logger = logging.getLogger(__name__)

# Maximum wait, per decision, for the mirror to reach the etcd head read at
# request time. Blocks usually arrive over the watch within milliseconds.
MIRROR_WAIT_SECONDS = 2.0


def open_etcd_store(settings: NodeSettings, chain_id: str) -> EtcdChainStore:
    """Open the chain `chain_id` under the node's etcd prefix, over TLS when a CA file is set."""
    tls = None
    if settings.etcd_ca_file is not None:
        tls = EtcdTls(settings.etcd_ca_file, settings.etcd_cert_file, settings.etcd_key_file)
    return EtcdChainStore(settings.etcd_endpoints, settings.etcd_prefix, chain_id, tls=tls)


class SharedMirrorStore(SqliteChainStore):
    """The node's SQLite mirror, which several processes of one node may extend.

    The server and each `consentry consent ...` command run their own
    follower on the same file, so a block may already be there when a
    follower appends it. An identical stored block counts as appended.
    """

    def append_block(self, block: StoredBlock) -> None:
        """Append `block`, or return if another process already mirrored the same bytes."""
        try:
            super().append_block(block)
        except StoreConflict:
            try:
                stored = self.block_at(block.height)
            except BlockNotFound:
                raise
            if stored != block:
                raise
            logger.debug("block height=%d was mirrored by another process", block.height)


class EtcdChainNode(ChainNode):
    """A ChainNode that proposes to etcd and reads a verified local mirror."""

    def __init__(self, settings: NodeSettings, genesis: Genesis, signer: Signer,
                 pseudonym_secret: bytes, mirror: SqliteChainStore,
                 etcd: EtcdChainStore) -> None:
        self.etcd = etcd
        self.follower = ChainFollower(
            etcd.feed(), mirror, genesis, member=settings.institution_id, signer=signer,
            finality=settings.finality, on_alarm=self._alarm,
        )
        super().__init__(settings, genesis, signer, pseudonym_secret, mirror)
        self.follower.start()

    @classmethod
    def open_etcd(cls, settings: NodeSettings) -> EtcdChainNode:
        """Open the node's keys, genesis and mirror, and join the chain under the etcd prefix."""
        directory = settings.directory
        directory.mkdir(parents=True, exist_ok=True)
        signer = Signer.from_seed(load_or_create_secret(directory / KEY_FILE))
        genesis = load_or_create_genesis(settings, signer, pin=False)
        secret = load_or_create_secret(directory / PSEUDONYM_FILE)
        # Opening the store checks that the etcd prefix contains this chain, so a
        # wrong genesis file is reported before the directory is pinned to it.
        etcd = open_etcd_store(settings, genesis.chain_id)
        try:
            load_or_create_genesis(settings, signer)
            _mark_etcd_node(directory, settings)
            mirror = SharedMirrorStore(directory / STORE_FILE, genesis.chain_id)
        except BaseException:
            etcd.close()
            raise
        try:
            return cls(settings, genesis, signer, secret, mirror, etcd)
        except BaseException:
            mirror.close()
            etcd.close()
            raise

    @property
    def state(self) -> ChainState:
        """Chain state after the last block the follower verified and mirrored."""
        return self.follower.replay.state

    def status(self) -> FollowerStatus:
        """Return the follower's state, mirrored head and any halt evidence."""
        return self.follower.status()

    def etcd_head(self) -> ChainHead | None:
        """Return the newest block recorded in etcd (a linearizable read, so it needs quorum)."""
        return self.etcd.head()

    def refresh(self) -> None:
        """Wait until the mirror holds every block etcd holds now; raise if it cannot."""
        self._check_trusted()
        head = self.etcd.head()
        target = 0 if head is None else head.height
        if self.follower.wait_for_height(target, MIRROR_WAIT_SECONDS):
            return
        self._check_trusted()
        raise StoreUnavailable(
            f"the local chain mirror is at height {self.follower.replay.height}, behind the "
            f"etcd head at height {target}, after {MIRROR_WAIT_SECONDS} s; check the node's "
            "log for follower errors"
        )

    def submit(self, tx_type: str, payload: dict[str, Any], timeout: float = 30.0) -> Inclusion:
        """Sign a transaction of this institution and return once etcd has committed its block.

        Under `chain.finality: quorum` it returns only once that block is
        final (cosigned by a quorum of members), and raises StoreUnavailable
        if that takes longer than `timeout`; the transaction then stays on
        the chain, but the caller fails closed.

        The ledger's state can lag behind the mirror when other institutions
        or another process of this node appended since its last append. A
        transaction that lagging state rejects is signed again once the
        ledger has caught up, and one that lost its place while the ledger
        rebased is signed again with the next seq.
        """
        self._check_trusted()
        deadline = time.monotonic() + timeout
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            with self._lock:
                try:
                    future = self._ledger.submit(self._sign(tx_type, payload))
                except InvalidTransaction:
                    if attempt == SUBMIT_ATTEMPTS or not self._ledger_lags():
                        raise
                    self._catch_up_ledger()
                    continue
            try:
                inclusion = future.result(timeout)
            except (StoreConflict, InvalidTransaction) as error:
                if attempt == SUBMIT_ATTEMPTS:
                    raise
                logger.info("signing %s again after the ledger rebased: %s", tx_type, error)
                continue
            self._wait_until_final(inclusion, max(deadline - time.monotonic(), 0.0), timeout)
            return inclusion
        raise AssertionError("unreachable")

    def _wait_until_final(self, inclusion: Inclusion, remaining: float, timeout: float) -> None:
        if self.settings.finality != "quorum":
            return
        if self.follower.wait_for_final(inclusion.height, remaining):
            return
        self._check_trusted()
        logger.warning("block height=%d tx=%s not final after %g s", inclusion.height,
                       inclusion.tx_hash.hex(), timeout)
        raise StoreUnavailable(
            f"block {inclusion.height} is in etcd, but a quorum of members has not cosigned "
            f"it within {timeout:g} s (chain.finality is quorum); check that the other "
            "institutions' nodes are running"
        )

    def checkpoint(self) -> Checkpoint:
        """Sign a checkpoint of the verified mirror once it has reached the etcd head."""
        self.refresh()
        replay = self.follower.replay
        return sign_checkpoint(
            self._signer, member=self.member, chain_id=self.chain_id,
            tree_size=replay.frontier.size, root_hash=replay.frontier.root(),
            block_height=replay.height, block_hash=replay.block_hash,
            time=max(time.time_ns() // 1_000_000, replay.time),
        )

    def receipt(self, tx_hash: bytes) -> bytes:
        """Return receipt bytes for a mirrored transaction under a new checkpoint."""
        return build_receipt(self.store, self.checkpoint(), tx_hash)

    def close(self) -> None:
        """Stop the follower, commit what is pending, and close etcd and the mirror."""
        self.follower.stop()
        with self._lock:
            self._ledger.close()
            self.etcd.close()
            self.store.close()

    def _open_ledger(self) -> Ledger:
        return Ledger(
            self.etcd, self.genesis, proposer=self.member, signer=self._signer,
            max_block_transactions=self.settings.max_block_transactions,
            max_block_delay_ms=self.settings.max_block_delay_ms,
            max_block_bytes=self.etcd.max_block_bytes,
        )

    def _ledger_lags(self) -> bool:
        return self._ledger.committed.height < self.follower.replay.height

    def _catch_up_ledger(self) -> None:
        # A transaction can depend on blocks the ledger has not applied yet,
        # such as a dataset another institution registered or a command this
        # node ran in another process. Catching up reads only those blocks.
        logger.info("ledger at height %d lags the mirror at height %d; catching up",
                    self._ledger.committed.height, self.follower.replay.height)
        self._ledger.catch_up()

    def _check_trusted(self) -> None:
        evidence = self.follower.status().evidence
        if evidence is not None:
            raise ChainHalted(f"the consent chain follower of {self.member!r} halted on "
                              f"{evidence}; restore a verified mirror before restarting")

    def _alarm(self, evidence: HaltEvidence) -> None:
        logger.error("consent chain node %r fails closed from now on: %s", self.member,
                     evidence)


def _mark_etcd_node(directory: Path, settings: NodeSettings) -> None:
    """Record that `directory` is an etcd node's, so SQLite ledgers refuse to open it."""
    marker = directory / ETCD_MARKER_FILE
    content = json.dumps({"store": "etcd", "etcd_prefix": settings.etcd_prefix}) + "\n"
    if not marker.is_file() or marker.read_text(encoding="utf-8") != content:
        marker.write_text(content, encoding="utf-8")
