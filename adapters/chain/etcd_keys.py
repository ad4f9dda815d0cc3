"""The etcd key layout of one chain under a prefix.

    <prefix>/chain_id                 chain id (hex), written once
    <prefix>/head                     {"height", "block_hash", "log_size"} of the newest block
    <prefix>/block/<height>           framed block (see block_codec), height as 20 digits
    <prefix>/cosign/<height>/<member> a member's signed checkpoint at that height
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.chain.etcd_gateway import prefix_end

HEIGHT_DIGITS = 20
_BLOCK_KEY = re.compile(rb"block/([0-9]{20})")
_COSIGN_KEY = re.compile(rb"cosign/([0-9]{20})/([a-z0-9][a-z0-9.-]{0,62})")


@dataclass(frozen=True)
class ChainKeys:
    """Builds and parses the keys of one chain under `prefix` (no trailing slash)."""

    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix or self.prefix.endswith("/"):
            raise ValueError(f"etcd prefix {self.prefix!r} must be non-empty and must not end "
                             "in '/', such as 'consentry/chain'")

    @property
    def root(self) -> bytes:
        """Every key of the chain starts with this."""
        return f"{self.prefix}/".encode()

    @property
    def root_end(self) -> bytes:
        """range_end covering every key of the chain."""
        return prefix_end(self.root)

    @property
    def chain_id(self) -> bytes:
        """Key of the chain id record."""
        return self.root + b"chain_id"

    @property
    def head(self) -> bytes:
        """Key of the head record."""
        return self.root + b"head"

    def block(self, height: int) -> bytes:
        """Key of the block at `height`."""
        return self.root + f"block/{height:0{HEIGHT_DIGITS}d}".encode()

    @property
    def blocks_end(self) -> bytes:
        """range_end covering every block key."""
        return prefix_end(self.root + b"block/")

    def cosignature(self, height: int, member: str) -> bytes:
        """Key of `member`'s cosignature at `height`."""
        return self.root + f"cosign/{height:0{HEIGHT_DIGITS}d}/{member}".encode()

    def cosignatures_from(self, height: int) -> bytes:
        """First key of the cosignatures at `height` and above."""
        return self.root + f"cosign/{height:0{HEIGHT_DIGITS}d}/".encode()

    @property
    def cosignatures_end(self) -> bytes:
        """range_end covering every cosignature key."""
        return prefix_end(self.root + b"cosign/")

    def parse_block(self, key: bytes) -> int | None:
        """Return the height of a block key, or None for another key."""
        match = _BLOCK_KEY.fullmatch(key[len(self.root):]) if key.startswith(self.root) else None
        return int(match.group(1)) if match else None

    def parse_cosignature(self, key: bytes) -> tuple[int, str] | None:
        """Return (height, member) of a cosignature key, or None for another key."""
        if not key.startswith(self.root):
            return None
        match = _COSIGN_KEY.fullmatch(key[len(self.root):])
        return (int(match.group(1)), match.group(2).decode()) if match else None
