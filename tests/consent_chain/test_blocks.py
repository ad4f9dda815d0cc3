"""Tests for block header sealing, hashing and decoding."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from consent_chain.blocks import (
    build_header,
    decode_header,
    has_valid_block_signature,
    seal_header,
)
from consent_chain.canonical import canonical_bytes
from consent_chain.crypto import BLOCK_DOMAIN, verify_signature
from consent_chain.errors import InvalidBlock
from tests.consent_chain.builders import signer_for

PROPOSER = signer_for("hospital-a")


def header(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "chain_id": "ab" * 32, "height": 1, "prev_hash": bytes.fromhex("ab" * 32),
        "time": 5, "proposer": "hospital-a", "key_id": PROPOSER.key_id,
        "config_hash": b"\x01" * 32, "tx_count": 1, "tx_root": b"\x02" * 32,
        "log_size": 1, "log_root": b"\x02" * 32,
    }
    fields.update(changes)
    return build_header(**fields)


def test_block_hash_covers_header_and_signature() -> None:
    sealed = seal_header(PROPOSER, header())
    expected = canonical_bytes({"header": sealed.header, "signature": sealed.signature.hex()})
    assert sealed.encoded == expected
    assert sealed.block_hash == hashlib.sha256(expected).digest()


def test_signature_covers_domain_and_header() -> None:
    sealed = seal_header(PROPOSER, header())
    message = canonical_bytes(sealed.header)
    assert verify_signature(PROPOSER.public_key, BLOCK_DOMAIN, message, sealed.signature)


def test_decode_round_trips() -> None:
    sealed = seal_header(PROPOSER, header())
    assert decode_header(sealed.encoded) == sealed


def test_changed_header_fails_signature() -> None:
    sealed = seal_header(PROPOSER, header())
    forged = decode_header(canonical_bytes(
        {"header": dict(sealed.header, time=6), "signature": sealed.signature.hex()}))
    assert not has_valid_block_signature(forged, PROPOSER.public_key)


def test_seal_rejects_invalid_header() -> None:
    with pytest.raises(InvalidBlock, match="tx_count"):
        seal_header(PROPOSER, header(tx_count=0))


def test_decode_rejects_missing_signature() -> None:
    with pytest.raises(InvalidBlock, match="exactly"):
        decode_header(canonical_bytes({"header": header()}))


def test_decode_rejects_non_canonical_bytes() -> None:
    sealed = seal_header(PROPOSER, header())
    with pytest.raises(InvalidBlock, match="canonical"):
        decode_header(sealed.encoded.replace(b'{"header"', b'{ "header"'))
