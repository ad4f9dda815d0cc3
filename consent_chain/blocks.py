"""Block headers: signed, hash-linked summaries of a batch of transactions.

A sealed header is the canonical JSON object {"header": <header>, "signature": <hex>}.
The block hash is SHA-256 of those bytes, so it covers the proposer's signature,
and the next block's `prev_hash` is that hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from consent_chain.canonical import canonical_bytes, decode_canonical, sha256
from consent_chain.crypto import BLOCK_DOMAIN, Signer, verify_signature
from consent_chain.errors import CanonicalError, InvalidBlock
from consent_chain.models import BlockHeader

HEADER_VERSION = 1


@dataclass(frozen=True)
class SealedHeader:
    """A block header with the proposer's signature and the canonical sealed bytes."""

    header: dict[str, Any]
    signature: bytes
    encoded: bytes

    @property
    def block_hash(self) -> bytes:
        """SHA-256 of the sealed header bytes."""
        return sha256(self.encoded)

    @property
    def height(self) -> int:
        """Block height; the first block after genesis is height 1."""
        return int(self.header["height"])


def build_header(
    *,
    chain_id: str,
    height: int,
    prev_hash: bytes,
    time: int,
    proposer: str,
    key_id: str,
    config_hash: bytes,
    tx_count: int,
    tx_root: bytes,
    log_size: int,
    log_root: bytes,
) -> dict[str, Any]:
    """Assemble an unsigned version-1 block header."""
    return {
        "version": HEADER_VERSION,
        "chain_id": chain_id,
        "height": height,
        "prev_hash": prev_hash.hex(),
        "time": time,
        "proposer": proposer,
        "key_id": key_id,
        "config_hash": config_hash.hex(),
        "tx_count": tx_count,
        "tx_root": tx_root.hex(),
        "log_size": log_size,
        "log_root": log_root.hex(),
    }


def seal_header(signer: Signer, header: dict[str, Any]) -> SealedHeader:
    """Sign BLOCK_DOMAIN + canonical header and return the sealed header."""
    _validate(header)
    signature = signer.sign(BLOCK_DOMAIN, canonical_bytes(header))
    encoded = canonical_bytes({"header": header, "signature": signature.hex()})
    return SealedHeader(header=header, signature=signature, encoded=encoded)


def decode_header(encoded: bytes) -> SealedHeader:
    """Parse sealed header bytes and check their canonical form and shape."""
    try:
        value = decode_canonical(encoded)
    except CanonicalError as error:
        raise InvalidBlock(f"block header is not canonical JSON: {error}") from error
    if not isinstance(value, dict) or set(value) != {"header", "signature"}:
        raise InvalidBlock("sealed header must have exactly 'header' and 'signature'")
    header, signature_hex = value["header"], value["signature"]
    if not isinstance(header, dict):
        raise InvalidBlock("block header must be a JSON object")
    _validate(header)
    if not isinstance(signature_hex, str) or len(signature_hex) != 128:
        raise InvalidBlock("block signature must be 128 lowercase hex digits")
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError as error:
        raise InvalidBlock("block signature is not hex") from error
    if signature.hex() != signature_hex:
        raise InvalidBlock("block signature must use lowercase hex")
    return SealedHeader(header=header, signature=signature, encoded=encoded)


def has_valid_block_signature(sealed: SealedHeader, public_key: bytes) -> bool:
    """Return whether the proposer's signature verifies under `public_key`."""
    message = canonical_bytes(sealed.header)
    return verify_signature(public_key, BLOCK_DOMAIN, message, sealed.signature)


def _validate(header: dict[str, Any]) -> None:
    try:
        BlockHeader.model_validate(header)
    except ValidationError as error:
        detail = error.errors()[0]
        location = ".".join(str(part) for part in detail["loc"]) or "<root>"
        raise InvalidBlock(f"invalid block header: {location}: {detail['msg']}") from error
