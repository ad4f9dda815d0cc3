"""Member cosignatures on checkpoints, and the finality rule that counts them.

After a member's follower has verified a block, it signs a checkpoint of the
log at that block (the checkpoint format of `checkpoints.py`) and stores it
under `<prefix>/cosign/<height>/<member>`, once per height. A checkpoint at
height h commits to every block up to h, so a quorum of cosignatures at some
height h' >= h makes block h final.

Finality rules:
- `proposer`: a block is final once it passed verification, that is once
  the proposer's signature and every transaction in it verify.
- `quorum`: a block is final once members holding a Byzantine quorum cosigned
  it or a later block: with n members and f = floor((n - 1) / 3), at least
  ceil((n + f + 1) / 2) of them, which is 2f + 1 when n = 3f + 1. Two
  quorums then always share more than f members, so as long as no more
  than f members lie, two conflicting blocks can never both become final.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Literal

from consent_chain.canonical import canonical_bytes, decode_canonical
from consent_chain.checkpoints import Checkpoint, TrustedKey, sign_checkpoint, verify_checkpoint
from consent_chain.crypto import Signer
from consent_chain.errors import CanonicalError, InvalidProof
from consent_chain.state import ChainState
from consent_chain.verify import Replay

logger = logging.getLogger(__name__)

FinalityRule = Literal["proposer", "quorum"]
FINALITY_RULES: tuple[FinalityRule, ...] = ("proposer", "quorum")


def quorum_size(member_count: int) -> int:
    """Return the cosignatures a block needs among `member_count` members (2f+1 of 3f+1)."""
    if member_count < 1:
        raise ValueError("a chain has at least one member")
    faulty = (member_count - 1) // 3
    return (member_count + faulty + 2) // 2


def active_keys(state: ChainState) -> dict[str, TrustedKey]:
    """Return the keys that may cosign in `state`: active keys of registered members."""
    return {
        key_id: TrustedKey(record.member, record.public_key)
        for key_id, record in state.keys.items()
        if record.active and record.member in state.members
    }


def cosign(signer: Signer, member: str, chain_id: str, replay: Replay) -> bytes:
    """Sign a checkpoint of the verified chain in `replay` and return its canonical JSON."""
    checkpoint = sign_checkpoint(
        signer, member=member, chain_id=chain_id, tree_size=replay.frontier.size,
        root_hash=replay.frontier.root(), block_height=replay.height,
        block_hash=replay.block_hash, time=replay.time,
    )
    return canonical_bytes(checkpoint.to_json())


@dataclass(frozen=True)
class ConflictingCosignature:
    """A member's valid cosignature at a height whose block hash differs from ours."""

    height: int
    member: str
    checkpoint: Checkpoint
    our_block_hash: bytes


@dataclass
class _Height:
    block_hash: bytes
    keys: dict[str, TrustedKey]
    quorum: int
    signers: dict[str, Checkpoint]


class CosignatureBook:
    """Verified cosignatures per height and the finality rule applied to them."""

    def __init__(self, chain_id: str, rule: FinalityRule) -> None:
        if rule not in FINALITY_RULES:
            raise ValueError(f"finality rule {rule!r} is not one of {FINALITY_RULES}")
        self.chain_id = chain_id
        self.rule = rule
        self._lock = threading.Lock()
        self._heights: dict[int, _Height] = {}
        self._early: dict[int, dict[str, bytes]] = {}
        self._verified_height = 0
        self._quorum_height = 0

    def record_block(self, height: int, block_hash: bytes, state: ChainState) -> None:
        """Note a verified block and the registry after it; count cosignatures that came early."""
        with self._lock:
            self._verified_height = height
            keys = active_keys(state)
            self._heights[height] = _Height(block_hash, keys, quorum_size(len(state.members)), {})
            early = self._early.pop(height, {})
        for member, data in early.items():
            self.add(height, member, data)

    def add(self, height: int, member: str, data: bytes) -> ConflictingCosignature | None:
        """Verify and count one cosignature; return evidence if it names a different block.

        Invalid cosignatures are logged and ignored: they cannot count toward a
        quorum, and anyone with write access to etcd could store them.
        """
        with self._lock:
            entry = self._heights.get(height)
            if entry is None:
                if height > self._verified_height:
                    self._early.setdefault(height, {})[member] = data
                return None
            try:
                checkpoint = self._verify(height, member, data, entry)
            except InvalidProof as error:
                logger.warning("ignoring cosignature of %r at height %d: %s", member, height,
                               error)
                return None
            if checkpoint.body["block_hash"] != entry.block_hash.hex():
                return ConflictingCosignature(height, member, checkpoint, entry.block_hash)
            entry.signers[member] = checkpoint
            if len(entry.signers) >= entry.quorum and height > self._quorum_height:
                self._quorum_height = height
                self._forget_below(height)
                logger.debug("block height=%d is final by quorum", height)
        return None

    def _verify(self, height: int, member: str, data: bytes, entry: _Height) -> Checkpoint:
        try:
            value = decode_canonical(data)
        except CanonicalError as error:
            raise InvalidProof(f"cosignature is not canonical JSON: {error}") from error
        checkpoint = verify_checkpoint(value, entry.keys, self.chain_id)
        if checkpoint.body["signer"] != member:
            raise InvalidProof(f"cosignature stored for {member!r} is signed by "
                               f"{checkpoint.body['signer']!r}")
        if checkpoint.body["block_height"] != height:
            raise InvalidProof(f"cosignature stored at height {height} names height "
                               f"{checkpoint.body['block_height']}")
        return checkpoint

    def _forget_below(self, height: int) -> None:
        for old in [old for old in self._heights if old < height]:
            del self._heights[old]

    def cosigners(self, height: int) -> list[str]:
        """Return the members whose valid cosignature at `height` is counted (sorted)."""
        with self._lock:
            entry = self._heights.get(height)
            return sorted(entry.signers) if entry else []

    def final_height(self) -> int:
        """Return the greatest final height under the rule (0 when none)."""
        with self._lock:
            if self.rule == "proposer":
                return self._verified_height
            return self._quorum_height

    def is_final(self, height: int) -> bool:
        """Return whether the verified block at `height` is final under the rule."""
        return 1 <= height <= self.final_height()
