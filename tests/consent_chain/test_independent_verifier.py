"""Cross-check the reference chain code with a verifier written only from the format spec.

The chain comes from the real ledger (the `populated` fixture: four blocks
with every transaction type, a member added and a key rotated) and is read
straight from its SQLite file. Receipts and consistency proofs come from the
real ledger too. The independent verifier must accept all of them and reject
copies with one field or byte changed.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from consent_chain.genesis import Genesis
from consent_chain.ledger import Ledger
from consent_chain.merkle import consistency_proof
from tests.consent_chain import independent_verifier as spec
from tests.consent_chain.independent_verifier import ChainVerifier, VerificationError


@dataclass
class RawBlock:
    """One block as the SQLite store keeps it."""

    height: int
    block_hash: bytes
    prev_hash: bytes
    header: bytes
    envelopes: list[bytes]
    log_size: int


def read_blocks(db_path: Path) -> list[RawBlock]:
    """Read every block and its envelopes from a chain.sqlite file with plain SQL."""
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(
            "SELECT height, block_hash, prev_hash, header FROM blocks ORDER BY height").fetchall()
        blocks = []
        log_size = 0
        for height, block_hash, prev_hash, header in rows:
            envelopes = [row[0] for row in connection.execute(
                "SELECT envelope FROM transactions WHERE height = ? ORDER BY tx_index",
                (height,))]
            log_size += len(envelopes)
            blocks.append(RawBlock(height, block_hash, prev_hash, header, envelopes, log_size))
    return blocks


def verify_all(genesis: Genesis, blocks: list[RawBlock]) -> ChainVerifier:
    verifier = ChainVerifier.from_genesis_bytes(spec.canonical(genesis.document))
    for block in blocks:
        verifier.verify_block(block.block_hash, block.prev_hash, block.header, block.envelopes)
    return verifier


def pinned_keys(verifier: ChainVerifier) -> dict[str, dict[str, str]]:
    """Return every key the replayed registry has seen, revoked ones included."""
    return {member_id: {key: public for key, (public, _) in member.keys.items()}
            for member_id, member in verifier.registry.members.items()}


def reseal(header: bytes, field: str, value: object) -> bytes:
    """Return sealed header bytes with one header field replaced and the old signature kept."""
    sealed = json.loads(header)
    sealed["header"][field] = value
    return spec.canonical(sealed)


def flip_hex(text: str) -> str:
    """Return a hex string with its first digit changed."""
    return ("1" if text[0] == "0" else "0") + text[1:]


@pytest.fixture
def blocks(populated: Ledger, db_path: Path) -> list[RawBlock]:
    """The populated chain's blocks as stored."""
    return read_blocks(db_path)


@pytest.fixture
def tx_hashes(populated: Ledger, db_path: Path) -> list[bytes]:
    """Hashes of every transaction of the populated chain, in log order."""
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute("SELECT tx_hash FROM transactions ORDER BY leaf_index")
        return [row[0] for row in rows]


@pytest.fixture
def verifier(genesis: Genesis, blocks: list[RawBlock]) -> ChainVerifier:
    """An independent verifier that has replayed the whole populated chain."""
    return verify_all(genesis, blocks)


def test_genesis_hash_is_chain_id(genesis: Genesis) -> None:
    assert spec.sha256(spec.canonical(genesis.document)).hex() == genesis.chain_id


def test_accepts_every_block(verifier: ChainVerifier, blocks: list[RawBlock]) -> None:
    assert verifier.height == len(blocks)
    assert len(verifier.log) == blocks[-1].log_size


def test_stored_tx_hashes_match_spec(populated: Ledger, db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(
            "SELECT tx_hash, leaf_hash, envelope FROM transactions").fetchall()
    for tx_hash, leaf_hash, envelope in rows:
        assert spec.sha256(envelope) == tx_hash
        assert spec.sha256(b"\x00" + envelope) == leaf_hash


def test_accepts_every_receipt(populated: Ledger, verifier: ChainVerifier,
                               genesis: Genesis, tx_hashes: list[bytes]) -> None:
    checkpoint = populated.checkpoint()
    keys = pinned_keys(verifier)
    for tx_hash in tx_hashes:
        body = spec.verify_receipt(populated.receipt(tx_hash, checkpoint), keys,
                                   genesis.chain_id)
        assert body["chain_id"] == genesis.chain_id


def test_accepts_consistency_between_blocks(verifier: ChainVerifier,
                                            blocks: list[RawBlock]) -> None:
    sizes = [0] + [block.log_size for block in blocks]
    for old_size in sizes:
        for new_size in sizes[sizes.index(old_size):]:
            leaves = verifier.log[:new_size]
            spec.verify_consistency(old_size, new_size, spec.merkle_root(leaves[:old_size]),
                                    spec.merkle_root(leaves),
                                    consistency_proof(leaves, old_size))


def test_rejects_changed_transaction_byte(genesis: Genesis, blocks: list[RawBlock]) -> None:
    envelope = blocks[0].envelopes[1]
    position = envelope.index(b"req-0001") + len(b"req-")
    changed = envelope[:position] + b"9" + envelope[position + 1:]
    blocks[0].envelopes[1] = changed
    with pytest.raises(VerificationError, match="signature"):
        verify_all(genesis, blocks)


def test_rejects_changed_transaction_signature(genesis: Genesis,
                                               blocks: list[RawBlock]) -> None:
    envelope = json.loads(blocks[2].envelopes[0])
    envelope["signature"] = flip_hex(envelope["signature"])
    blocks[2].envelopes[0] = spec.canonical(envelope)
    with pytest.raises(VerificationError, match="signature"):
        verify_all(genesis, blocks)


def test_rejects_non_canonical_envelope(genesis: Genesis, blocks: list[RawBlock]) -> None:
    blocks[1].envelopes[0] = blocks[1].envelopes[0].replace(b'{"body":', b'{ "body":', 1)
    with pytest.raises(VerificationError, match="canonical"):
        verify_all(genesis, blocks)


@pytest.mark.parametrize(("field", "value"), [
    ("time", 0), ("log_size", 99), ("tx_root", "00" * 32), ("proposer", "research-b"),
])
def test_rejects_changed_header_field(genesis: Genesis, blocks: list[RawBlock],
                                      field: str, value: object) -> None:
    blocks[1].header = reseal(blocks[1].header, field, value)
    blocks[1].block_hash = spec.sha256(blocks[1].header)
    blocks[2].prev_hash = blocks[1].block_hash
    with pytest.raises(VerificationError):
        verify_all(genesis, blocks)


def test_rejects_header_without_matching_hash(genesis: Genesis,
                                              blocks: list[RawBlock]) -> None:
    blocks[1].header = reseal(blocks[1].header, "time", json.loads(blocks[1].header)
                              ["header"]["time"] + 1)
    with pytest.raises(VerificationError, match="block hash"):
        verify_all(genesis, blocks)


def test_rejects_changed_block_signature(genesis: Genesis, blocks: list[RawBlock]) -> None:
    sealed = json.loads(blocks[3].header)
    sealed["signature"] = flip_hex(sealed["signature"])
    blocks[3].header = spec.canonical(sealed)
    blocks[3].block_hash = spec.sha256(blocks[3].header)
    with pytest.raises(VerificationError, match="signature"):
        verify_all(genesis, blocks)


def test_rejects_broken_link(genesis: Genesis, blocks: list[RawBlock]) -> None:
    blocks[2].prev_hash = blocks[0].block_hash
    with pytest.raises(VerificationError, match="links to"):
        verify_all(genesis, blocks)


def test_rejects_dropped_transaction(genesis: Genesis, blocks: list[RawBlock]) -> None:
    del blocks[2].envelopes[1]
    with pytest.raises(VerificationError):
        verify_all(genesis, blocks)


@pytest.fixture
def receipt(populated: Ledger, tx_hashes: list[bytes]) -> dict[str, object]:
    """The receipt of the last transaction but one, as a JSON object."""
    data: dict[str, object] = json.loads(populated.receipt(tx_hashes[-2], populated.checkpoint()))
    return data


def receipt_error(receipt: dict[str, object], verifier: ChainVerifier, genesis: Genesis) -> str:
    """Return the verifier's error for a receipt, which must be rejected."""
    with pytest.raises(VerificationError) as error:
        spec.verify_receipt(spec.canonical(receipt), pinned_keys(verifier), genesis.chain_id)
    return str(error.value)


def test_rejects_receipt_proof_hash(receipt: dict[str, Any], verifier: ChainVerifier,
                                    genesis: Genesis) -> None:
    receipt["inclusion_proof"][0] = flip_hex(receipt["inclusion_proof"][0])
    assert "inclusion proof" in receipt_error(receipt, verifier, genesis)


def test_rejects_receipt_leaf_index(receipt: dict[str, Any], verifier: ChainVerifier,
                                    genesis: Genesis) -> None:
    receipt["leaf_index"] -= 1
    assert "inclusion proof" in receipt_error(receipt, verifier, genesis)


def test_rejects_receipt_transaction_byte(receipt: dict[str, Any], verifier: ChainVerifier,
                                          genesis: Genesis) -> None:
    receipt["transaction"]["body"]["payload"]["request_id"] = "req-0009"
    assert "signature" in receipt_error(receipt, verifier, genesis)


def test_rejects_checkpoint_signature(receipt: dict[str, Any], verifier: ChainVerifier,
                                      genesis: Genesis) -> None:
    checkpoint = receipt["checkpoint"]
    checkpoint["signature"] = flip_hex(checkpoint["signature"])
    assert "signature" in receipt_error(receipt, verifier, genesis)


def test_rejects_checkpoint_root(receipt: dict[str, Any], verifier: ChainVerifier,
                                 genesis: Genesis) -> None:
    body = receipt["checkpoint"]["body"]
    body["root_hash"] = flip_hex(body["root_hash"])
    assert "signature" in receipt_error(receipt, verifier, genesis)


def test_rejects_consistency_proof_hash(verifier: ChainVerifier,
                                        blocks: list[RawBlock]) -> None:
    old_size, new_size = blocks[1].log_size, blocks[-1].log_size
    proof = consistency_proof(verifier.log, old_size)
    proof[-1] = bytes([proof[-1][0] ^ 1]) + proof[-1][1:]
    with pytest.raises(VerificationError):
        spec.verify_consistency(old_size, new_size, spec.merkle_root(verifier.log[:old_size]),
                                spec.merkle_root(verifier.log), proof)


def test_point_math_matches_real_keys() -> None:
    from consent_chain.crypto import Signer

    public_key = Signer.from_seed(bytes(range(32))).public_key
    point = spec.decode_point(public_key)
    assert point is not None
    assert spec.is_identity(spec.multiply(point, spec.GROUP_ORDER))
    spec.check_registered_key(public_key.hex())


@pytest.mark.parametrize(
    "public_key",
    [
        (1).to_bytes(32, "little"),  # the identity point
        bytes(32),  # y = 0, a point of order 4
        (2**255 - 19 - 1).to_bytes(32, "little"),  # y = -1, the point of order 2
        (2**255 - 19 + 1).to_bytes(32, "little"),  # the identity with y >= p
    ],
)
def test_rejects_small_order_registered_key(public_key: bytes) -> None:
    with pytest.raises(VerificationError, match="prime order"):
        spec.check_registered_key(public_key.hex())


def test_rejects_identity_key_forgery() -> None:
    identity = (1).to_bytes(32, "little")
    with pytest.raises(VerificationError, match="not a canonical point of large order"):
        spec.check_signature(identity.hex(), spec.TX_DOMAIN, b"any message",
                             (identity + bytes(32)).hex())


def test_rejects_scalar_not_below_group_order(populated: Ledger, db_path: Path) -> None:
    envelope = read_blocks(db_path)[0].envelopes[0]
    value = json.loads(envelope)
    signature = bytes.fromhex(value["signature"])
    scalar = int.from_bytes(signature[32:], "little") + spec.GROUP_ORDER
    malleated = (signature[:32] + scalar.to_bytes(32, "little")).hex()
    members = {member["id"]: member for member in json.loads(populated.genesis.encoded)["members"]}
    public_key = members[value["body"]["member"]]["keys"][0]["public_key"]
    body = spec.canonical(value["body"])
    spec.check_signature(public_key, spec.TX_DOMAIN, body, value["signature"])
    with pytest.raises(VerificationError, match="S not below L"):
        spec.check_signature(public_key, spec.TX_DOMAIN, body, malleated)
