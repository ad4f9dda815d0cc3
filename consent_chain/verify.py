"""Re-verify a stored chain from its genesis document and name the first bad block.

Verification trusts nothing in the store except the genesis document the
caller pins: it recomputes every hash, link, signature, sequence number,
policy decision and Merkle root from the stored bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from consent_chain.blocks import SealedHeader, decode_header, has_valid_block_signature
from consent_chain.canonical import sha256
from consent_chain.errors import BlockNotFound, InvalidBlock, InvalidTransaction
from consent_chain.genesis import Genesis
from consent_chain.merkle import MerkleFrontier, root_hash
from consent_chain.state import ChainState
from consent_chain.store import ChainStore, StoredBlock, StoredTransaction
from consent_chain.transactions import decode_transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyFailure:
    """The first problem found: block height, transaction index (None for the header), reason."""

    height: int
    tx_index: int | None
    reason: str

    def __str__(self) -> str:
        where = f"block {self.height}"
        if self.tx_index is not None:
            where += f", transaction {self.tx_index}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of `verify_chain`; counts cover the blocks that passed before any failure."""

    ok: bool
    blocks_verified: int
    log_size: int
    log_root: bytes
    failure: VerifyFailure | None = None


@dataclass
class Replay:
    """Chain state after replaying every block that passed verification."""

    state: ChainState
    frontier: MerkleFrontier = field(default_factory=MerkleFrontier)
    height: int = 0
    block_hash: bytes = b""
    time: int = 0


class _Failed(Exception):
    def __init__(self, height: int, tx_index: int | None, reason: str) -> None:
        super().__init__(reason)
        self.failure = VerifyFailure(height, tx_index, reason)


def verify_chain(store: ChainStore, genesis: Genesis) -> VerifyReport:
    """Re-verify every stored block against `genesis` and report the first failure."""
    report, _ = replay_chain(store, genesis)
    return report


def replay_chain(store: ChainStore, genesis: Genesis) -> tuple[VerifyReport, Replay]:
    """Verify the stored chain and return the report with the state it reached."""
    replay = Replay(
        state=ChainState(genesis),
        block_hash=bytes.fromhex(genesis.chain_id),
        time=genesis.model.time,
    )
    try:
        head = store.head()
        last_height = 0 if head is None else head.height
        for height in range(1, last_height + 1):
            _verify_block(replay, _load_block(store, height))
        if head is not None and head.log_size != replay.frontier.size:
            raise _Failed(
                last_height, None,
                f"store contains {head.log_size} transactions but its blocks list "
                f"{replay.frontier.size}",
            )
    except _Failed as failed:
        logger.warning("chain verification failed at %s", failed.failure)
        return _report(replay, failed.failure), replay
    return _report(replay, None), replay


def _report(replay: Replay, failure: VerifyFailure | None) -> VerifyReport:
    return VerifyReport(
        ok=failure is None,
        blocks_verified=replay.height,
        log_size=replay.frontier.size,
        log_root=replay.frontier.root(),
        failure=failure,
    )


def _load_block(store: ChainStore, height: int) -> StoredBlock:
    try:
        block = store.block_at(height)
    except BlockNotFound as error:
        raise _Failed(height, None, f"block is missing from the store: {error}") from error
    if block.height != height:
        raise _Failed(height, None, f"store returned block {block.height} for height {height}")
    return block


def _verify_block(replay: Replay, block: StoredBlock) -> None:
    height = block.height
    sealed = _verify_header(replay, block)
    if sealed.header["tx_count"] != len(block.transactions):
        raise _Failed(height, None, f"header tx_count {sealed.header['tx_count']} but "
                                    f"{len(block.transactions)} transactions are stored")
    state = replay.state.copy()
    leaves = [
        _verify_transaction(state, stored, replay.frontier.size + index, height, index)
        for index, stored in enumerate(block.transactions)
    ]
    if root_hash(leaves).hex() != sealed.header["tx_root"]:
        raise _Failed(height, None, "tx_root does not match the block's transactions")
    frontier = replay.frontier.copy()
    for leaf in leaves:
        frontier.append(leaf)
    if sealed.header["log_size"] != frontier.size:
        raise _Failed(height, None, f"log_size {sealed.header['log_size']} but the log "
                                    f"holds {frontier.size} transactions")
    if frontier.root().hex() != sealed.header["log_root"]:
        raise _Failed(height, None, "log_root does not match the transaction log")
    replay.state, replay.frontier = state, frontier
    replay.height, replay.block_hash, replay.time = height, sealed.block_hash, sealed.header["time"]


def _verify_header(replay: Replay, block: StoredBlock) -> SealedHeader:
    height = block.height
    if sha256(block.header) != block.block_hash:
        raise _Failed(height, None, "stored block hash does not match the sealed header bytes")
    if block.prev_hash != replay.block_hash:
        raise _Failed(height, None, "stored prev_hash does not match the previous block hash")
    try:
        sealed = decode_header(block.header)
    except InvalidBlock as error:
        raise _Failed(height, None, str(error)) from error
    header = sealed.header
    expected = {
        "chain_id": replay.state.chain_id,
        "height": height,
        "prev_hash": replay.block_hash.hex(),
        "config_hash": replay.state.config_hash().hex(),
    }
    for name, value in expected.items():
        if header[name] != value:
            raise _Failed(height, None, f"header {name} is {header[name]!r}, expected {value!r}")
    # NOTE: block times are asserted by the proposer; only their order is checked.
    if header["time"] < replay.time:
        raise _Failed(height, None, f"block time {header['time']} is before the previous "
                                    f"block's time {replay.time}")
    try:
        public_key = replay.state.block_signer_key(header["proposer"], header["key_id"])
    except InvalidBlock as error:
        raise _Failed(height, None, str(error)) from error
    if not has_valid_block_signature(sealed, public_key):
        raise _Failed(height, None, f"block signature does not verify under key "
                                    f"{header['key_id']} of {header['proposer']!r}")
    return sealed


def _verify_transaction(
    state: ChainState, stored: StoredTransaction, leaf_index: int, height: int, index: int
) -> bytes:
    position = (stored.leaf_index, stored.height, stored.tx_index)
    if position != (leaf_index, height, index):
        raise _Failed(height, index, f"stored position {position} should be "
                                     f"{(leaf_index, height, index)}")
    try:
        tx = decode_transaction(stored.envelope)
        if tx.tx_hash != stored.tx_hash:
            raise _Failed(height, index, "stored tx_hash does not match the envelope bytes")
        leaf = tx.leaf_hash
        if leaf != stored.leaf_hash:
            raise _Failed(height, index, "stored leaf_hash does not match the envelope bytes")
        state.apply(tx)
    except InvalidTransaction as error:
        raise _Failed(height, index, str(error)) from error
    return leaf
