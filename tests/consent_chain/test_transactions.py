"""Tests for transaction signing, envelopes and decoding."""

from __future__ import annotations

import hashlib
import json

import pytest

from consent_chain.canonical import canonical_bytes
from consent_chain.crypto import BLOCK_DOMAIN, TX_DOMAIN, verify_signature
from consent_chain.errors import InvalidTransaction
from consent_chain.transactions import (
    SignedTransaction,
    decode_transaction,
    has_valid_signature,
    signing_input,
)
from tests.consent_chain.builders import TxFactory, signer_for


def test_signature_covers_domain_and_canonical_body(txs: TxFactory) -> None:
    tx = txs.register_dataset()
    public_key = signer_for("hospital-a").public_key
    message = canonical_bytes(tx.body)
    assert signing_input(tx.body) == TX_DOMAIN + message
    assert verify_signature(public_key, TX_DOMAIN, message, tx.signature)
    assert not verify_signature(public_key, BLOCK_DOMAIN, message, tx.signature)


def test_envelope_is_canonical_body_and_signature(txs: TxFactory) -> None:
    tx = txs.register_dataset()
    expected = canonical_bytes({"body": tx.body, "signature": tx.signature.hex()})
    assert tx.envelope == expected


def test_tx_hash_and_leaf_hash(txs: TxFactory) -> None:
    tx = txs.register_dataset()
    assert tx.tx_hash == hashlib.sha256(tx.envelope).digest()
    assert tx.leaf_hash == hashlib.sha256(b"\x00" + tx.envelope).digest()


def test_decode_round_trips(txs: TxFactory) -> None:
    tx = txs.decision(1)
    assert decode_transaction(tx.envelope) == tx


def test_decode_rejects_non_canonical_envelope(txs: TxFactory) -> None:
    tx = txs.decision(1)
    pretty = json.dumps(json.loads(tx.envelope), indent=1).encode()
    with pytest.raises(InvalidTransaction, match="canonical"):
        decode_transaction(pretty)


def test_decode_rejects_extra_envelope_field(txs: TxFactory) -> None:
    tx = txs.decision(1)
    data = canonical_bytes({"body": tx.body, "signature": tx.signature.hex(), "x": 1})
    with pytest.raises(InvalidTransaction, match="exactly"):
        decode_transaction(data)


def test_decode_rejects_uppercase_signature(txs: TxFactory) -> None:
    tx = txs.decision(1)
    data = canonical_bytes({"body": tx.body, "signature": tx.signature.hex().upper()})
    with pytest.raises(InvalidTransaction, match="lowercase"):
        decode_transaction(data)


def test_decode_rejects_bad_payload_shape(txs: TxFactory) -> None:
    tx = txs.decision(1)
    body = dict(tx.body, payload=dict(tx.payload, decision="maybe"))
    data = canonical_bytes({"body": body, "signature": tx.signature.hex()})
    with pytest.raises(InvalidTransaction, match="access_decision payload"):
        decode_transaction(data)


def test_sign_rejects_unknown_type(txs: TxFactory) -> None:
    with pytest.raises(InvalidTransaction, match="type"):
        txs.make("hospital-a", "mint_tokens", {})


def test_sign_rejects_float_in_payload(txs: TxFactory) -> None:
    with pytest.raises(InvalidTransaction):
        txs.make("hospital-a", "member_key_revoke", {"key_id": "0" * 16, "reason": 1.5})


def test_changed_body_breaks_signature(txs: TxFactory) -> None:
    tx = txs.decision(1)
    body = dict(tx.body, seq=tx.seq + 1)
    forged = SignedTransaction(body, tx.signature, canonical_bytes(
        {"body": body, "signature": tx.signature.hex()}))
    assert not has_valid_signature(forged, signer_for("hospital-a").public_key)
