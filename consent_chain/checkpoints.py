"""Signed checkpoints (tree heads) and receipts that prove a transaction is in the log.

A receipt carries the transaction envelope, its leaf index, the block height,
an RFC 9162 inclusion proof and a checkpoint. Anyone holding the members'
public keys can verify it offline, without the chain store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consent_chain.canonical import canonical_bytes, decode_canonical
from consent_chain.crypto import CHECKPOINT_DOMAIN, Signer, verify_signature
from consent_chain.errors import CanonicalError, InvalidProof, InvalidTransaction
from consent_chain.merkle import (
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from consent_chain.state import ChainState
from consent_chain.store import ChainStore
from consent_chain.transactions import SignedTransaction, decode_transaction, has_valid_signature

RECEIPT_VERSION = 1
_CHECKPOINT_FIELDS = {
    "chain_id", "tree_size", "root_hash", "block_height", "block_hash", "time", "signer", "key_id"
}


@dataclass(frozen=True)
class TrustedKey:
    """A public key an offline verifier accepts, and the member it belongs to."""

    member: str
    public_key: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the log of `chain_id` had `tree_size` leaves and `root_hash`."""

    body: dict[str, Any]
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object form {"body": ..., "signature": hex}."""
        return {"body": self.body, "signature": self.signature.hex()}

    @property
    def tree_size(self) -> int:
        """Number of transactions in the log at this checkpoint."""
        return int(self.body["tree_size"])

    @property
    def root_hash(self) -> bytes:
        """RFC 9162 root of the log at this checkpoint."""
        return bytes.fromhex(self.body["root_hash"])


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt that passed `verify_receipt`."""

    transaction: SignedTransaction
    leaf_index: int
    block_height: int
    checkpoint: Checkpoint


def trusted_keys(state: ChainState) -> dict[str, TrustedKey]:
    """Return every key ever registered in `state`, revoked ones included.

    Revocation stops a key from signing new entries; signatures it made
    before the revocation stay valid evidence.
    """
    return {
        key_id: TrustedKey(record.member, record.public_key)
        for key_id, record in state.keys.items()
    }


def sign_checkpoint(
    signer: Signer,
    *,
    member: str,
    chain_id: str,
    tree_size: int,
    root_hash: bytes,
    block_height: int,
    block_hash: bytes,
    time: int,
) -> Checkpoint:
    """Sign CHECKPOINT_DOMAIN + canonical checkpoint body."""
    body = {
        "chain_id": chain_id,
        "tree_size": tree_size,
        "root_hash": root_hash.hex(),
        "block_height": block_height,
        "block_hash": block_hash.hex(),
        "time": time,
        "signer": member,
        "key_id": signer.key_id,
    }
    return Checkpoint(body, signer.sign(CHECKPOINT_DOMAIN, canonical_bytes(body)))


def verify_checkpoint(
    value: object, keys: Mapping[str, TrustedKey], chain_id: str
) -> Checkpoint:
    """Check a checkpoint's JSON form and signature; raise InvalidProof if it fails."""
    if not isinstance(value, dict) or set(value) != {"body", "signature"}:
        raise InvalidProof("checkpoint must have exactly 'body' and 'signature'")
    body, signature_hex = value["body"], value["signature"]
    if not isinstance(body, dict) or set(body) != _CHECKPOINT_FIELDS:
        raise InvalidProof(f"checkpoint body must have the fields {sorted(_CHECKPOINT_FIELDS)}")
    if body["chain_id"] != chain_id:
        raise InvalidProof(f"checkpoint is for chain {body['chain_id']}, not {chain_id}")
    _check_checkpoint_numbers(body)
    key = keys.get(str(body["key_id"]))
    if key is None or key.member != body["signer"]:
        raise InvalidProof(f"checkpoint key {body['key_id']} is not a trusted key of "
                           f"{body['signer']!r}")
    signature = _hex_bytes(signature_hex, "checkpoint signature")
    message = _canonical(body, "checkpoint body")
    if not verify_signature(key.public_key, CHECKPOINT_DOMAIN, message, signature):
        raise InvalidProof(f"checkpoint signature does not verify under key {body['key_id']}")
    return Checkpoint(body, signature)


def _check_checkpoint_numbers(body: dict[str, Any]) -> None:
    for name in ("tree_size", "block_height", "time"):
        value = body[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidProof(f"checkpoint {name} must be a non-negative integer")
    for name in ("root_hash", "block_hash"):
        if len(_hex_bytes(body[name], f"checkpoint {name}")) != 32:
            raise InvalidProof(f"checkpoint {name} must be 32 bytes")


def prove_consistency(store: ChainStore, old_size: int, new_size: int) -> list[bytes]:
    """Return the RFC 9162 proof that the log at `old_size` is a prefix of the log at `new_size`."""
    return consistency_proof(store.leaf_hashes(0, new_size), old_size)


def verify_checkpoint_consistency(old: Checkpoint, new: Checkpoint, proof: list[bytes]) -> None:
    """Check that `new` extends `old` (same chain, append-only); raise InvalidProof otherwise."""
    if old.body["chain_id"] != new.body["chain_id"]:
        raise InvalidProof("checkpoints belong to different chains")
    verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)


def build_receipt(store: ChainStore, checkpoint: Checkpoint, tx_hash: bytes) -> bytes:
    """Return canonical receipt bytes for the transaction `tx_hash` under `checkpoint`."""
    stored = store.find_transaction(tx_hash)
    if stored is None:
        raise InvalidProof(f"transaction {tx_hash.hex()} is not in the chain store")
    if stored.leaf_index >= checkpoint.tree_size:
        raise InvalidProof(f"transaction {tx_hash.hex()} is at leaf {stored.leaf_index}, "
                           f"after the checkpoint's tree size {checkpoint.tree_size}")
    leaves = store.leaf_hashes(0, checkpoint.tree_size)
    receipt = {
        "version": RECEIPT_VERSION,
        "transaction": decode_canonical(stored.envelope),
        "leaf_index": stored.leaf_index,
        "block_height": stored.height,
        "inclusion_proof": [node.hex() for node in inclusion_proof(leaves, stored.leaf_index)],
        "checkpoint": checkpoint.to_json(),
    }
    return canonical_bytes(receipt)


def verify_receipt(
    data: bytes, keys: Mapping[str, TrustedKey], chain_id: str
) -> VerifiedReceipt:
    """Verify receipt bytes offline; raise InvalidProof naming the first check that fails."""
    receipt = _decode_receipt(data)
    checkpoint = verify_checkpoint(receipt["checkpoint"], keys, chain_id)
    tx = _verify_receipt_transaction(receipt["transaction"], keys, chain_id)
    leaf_index = receipt["leaf_index"]
    if not isinstance(leaf_index, int) or isinstance(leaf_index, bool):
        raise InvalidProof("receipt leaf_index must be an integer")
    proof_hex = receipt["inclusion_proof"]
    if not isinstance(proof_hex, list):
        raise InvalidProof("receipt inclusion_proof must be a list of hex hashes")
    proof = [_hex_bytes(node, "inclusion proof hash") for node in proof_hex]
    verify_inclusion(tx.leaf_hash, leaf_index, checkpoint.tree_size, proof, checkpoint.root_hash)
    block_height = receipt["block_height"]
    if not isinstance(block_height, int) or isinstance(block_height, bool):
        raise InvalidProof("receipt block_height must be an integer")
    return VerifiedReceipt(tx, leaf_index, block_height, checkpoint)


def _decode_receipt(data: bytes) -> dict[str, Any]:
    try:
        receipt = decode_canonical(data)
    except CanonicalError as error:
        raise InvalidProof(f"receipt is not canonical JSON: {error}") from error
    fields = {"version", "transaction", "leaf_index", "block_height", "inclusion_proof",
              "checkpoint"}
    if not isinstance(receipt, dict) or set(receipt) != fields:
        raise InvalidProof(f"receipt must have exactly the fields {sorted(fields)}")
    if receipt["version"] != RECEIPT_VERSION:
        raise InvalidProof(f"receipt version {receipt['version']!r} is not {RECEIPT_VERSION}")
    return receipt


def _verify_receipt_transaction(
    value: object, keys: Mapping[str, TrustedKey], chain_id: str
) -> SignedTransaction:
    try:
        tx = decode_transaction(_canonical(value, "receipt transaction"))
    except InvalidTransaction as error:
        raise InvalidProof(f"receipt transaction is invalid: {error}") from error
    if tx.body["chain_id"] != chain_id:
        raise InvalidProof(f"receipt transaction is for chain {tx.body['chain_id']}")
    key = keys.get(tx.key_id)
    if key is None or key.member != tx.member:
        raise InvalidProof(f"transaction key {tx.key_id} is not a trusted key of {tx.member!r}")
    if not has_valid_signature(tx, key.public_key):
        raise InvalidProof(f"transaction signature does not verify under key {tx.key_id}")
    return tx


def _canonical(value: object, label: str) -> bytes:
    try:
        return canonical_bytes(value)
    except CanonicalError as error:
        raise InvalidProof(f"{label} cannot be encoded canonically: {error}") from error


def _hex_bytes(value: object, label: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidProof(f"{label} must be a hex string")
    try:
        decoded = bytes.fromhex(value)
    except ValueError as error:
        raise InvalidProof(f"{label} {value!r} is not hex") from error
    if decoded.hex() != value:
        raise InvalidProof(f"{label} must be lowercase hex without spaces")
    return decoded
