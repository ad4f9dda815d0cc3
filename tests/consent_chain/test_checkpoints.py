"""Tests for signed checkpoints, receipts and consistency between checkpoints."""

from __future__ import annotations

import json
import sqlite3

import pytest

from consent_chain.canonical import canonical_bytes, decode_canonical
from consent_chain.checkpoints import (
    TrustedKey,
    prove_consistency,
    sign_checkpoint,
    trusted_keys,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_receipt,
)
from consent_chain.errors import InvalidProof
from consent_chain.genesis import Genesis
from consent_chain.ledger import Ledger
from consent_chain.merkle import consistency_proof, leaf_hash
from tests.consent_chain.builders import TxFactory, signer_for


@pytest.fixture
def keys(populated: Ledger) -> dict[str, TrustedKey]:
    """Every key registered on the populated chain."""
    return trusted_keys(populated.committed.state)


def decision_hash(ledger: Ledger, leaf_index: int = 1) -> bytes:
    return ledger.store.transaction_at(leaf_index).tx_hash


def edit_receipt(receipt: bytes, path: list[str | int], value: object) -> bytes:
    document = decode_canonical(receipt)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return canonical_bytes(document)


def test_receipt_verifies_offline(
    populated: Ledger, keys: dict[str, TrustedKey], genesis: Genesis
) -> None:
    receipt = populated.receipt(decision_hash(populated))
    verified = verify_receipt(receipt, keys, genesis.chain_id)
    assert verified.transaction.tx_hash == decision_hash(populated)
    assert (verified.leaf_index, verified.block_height) == (1, 1)
    assert verified.checkpoint.tree_size == 10


def test_every_receipt_verifies(
    populated: Ledger, keys: dict[str, TrustedKey], genesis: Genesis
) -> None:
    checkpoint = populated.checkpoint()
    for leaf_index in range(10):
        receipt = populated.receipt(decision_hash(populated, leaf_index), checkpoint)
        assert verify_receipt(receipt, keys, genesis.chain_id).leaf_index == leaf_index


def test_receipt_for_tampered_transaction_fails(
    populated: Ledger, keys: dict[str, TrustedKey], genesis: Genesis
) -> None:
    receipt = populated.receipt(decision_hash(populated))
    tampered = edit_receipt(receipt, ["transaction", "body", "payload", "decision"], "deny")
    with pytest.raises(InvalidProof, match="signature does not verify"):
        verify_receipt(tampered, keys, genesis.chain_id)


def test_receipt_built_from_tampered_store_fails(
    populated: Ledger, keys: dict[str, TrustedKey], genesis: Genesis
) -> None:
    checkpoint = populated.checkpoint()
    populated.close()
    raw: sqlite3.Connection = populated.store._connection  # type: ignore[attr-defined]
    other = populated.store.transaction_at(2)
    raw.execute("UPDATE transactions SET envelope = ?, tx_hash = ? WHERE leaf_index = 1",
                (other.envelope, b"\xaa" * 32))
    receipt = populated.receipt(b"\xaa" * 32, checkpoint)
    with pytest.raises(InvalidProof, match="inclusion proof does not lead"):
        verify_receipt(receipt, keys, genesis.chain_id)


def test_receipt_with_wrong_leaf_index_fails(
    populated: Ledger, keys: dict[str, TrustedKey], genesis: Genesis
) -> None:
    receipt = edit_receipt(populated.receipt(decision_hash(populated)), ["leaf_index"], 2)
    with pytest.raises(InvalidProof):
        verify_receipt(receipt, keys, genesis.chain_id)


def test_receipt_with_forged_checkpoint_root_fails(
    populated: Ledger, keys: dict[str, TrustedKey], genesis: Genesis
) -> None:
    receipt = populated.receipt(decision_hash(populated))
    forged = edit_receipt(receipt, ["checkpoint", "body", "root_hash"], "00" * 32)
    with pytest.raises(InvalidProof, match="checkpoint signature"):
        verify_receipt(forged, keys, genesis.chain_id)


def test_receipt_for_other_chain_fails(
    populated: Ledger, keys: dict[str, TrustedKey]
) -> None:
    receipt = populated.receipt(decision_hash(populated))
    with pytest.raises(InvalidProof, match="is for chain"):
        verify_receipt(receipt, keys, "00" * 32)


def test_receipt_needs_trusted_checkpoint_key(
    populated: Ledger, keys: dict[str, TrustedKey], genesis: Genesis
) -> None:
    receipt = populated.receipt(decision_hash(populated))
    untrusted = {key_id: key for key_id, key in keys.items() if key.member != "hospital-a"}
    with pytest.raises(InvalidProof, match="not a trusted key"):
        verify_receipt(receipt, untrusted, genesis.chain_id)


def test_non_canonical_receipt_rejected(
    populated: Ledger, keys: dict[str, TrustedKey], genesis: Genesis
) -> None:
    receipt = populated.receipt(decision_hash(populated))
    pretty = json.dumps(json.loads(receipt), indent=2).encode()
    with pytest.raises(InvalidProof, match="canonical"):
        verify_receipt(pretty, keys, genesis.chain_id)


def test_checkpoint_signed_by_outsider_rejected(genesis: Genesis, populated: Ledger) -> None:
    head = populated.committed
    forged = sign_checkpoint(
        signer_for("mallory"), member="hospital-a", chain_id=genesis.chain_id,
        tree_size=head.frontier.size, root_hash=head.frontier.root(),
        block_height=head.height, block_hash=head.block_hash, time=0,
    )
    with pytest.raises(InvalidProof, match="not a trusted key"):
        verify_checkpoint(forged.to_json(), trusted_keys(head.state), genesis.chain_id)


def test_later_checkpoint_is_consistent(
    genesis: Genesis, populated: Ledger
) -> None:
    keys = trusted_keys(populated.committed.state)
    old = verify_checkpoint(populated.checkpoint().to_json(), keys, genesis.chain_id)
    txs = TxFactory(genesis.chain_id, next_seq={"hospital-a": populated.next_seq("hospital-a")})
    populated.submit(txs.decision(50))
    populated.flush()
    new = verify_checkpoint(populated.checkpoint().to_json(), keys, genesis.chain_id)
    proof = prove_consistency(populated.store, old.tree_size, new.tree_size)
    verify_checkpoint_consistency(old, new, proof)
    assert new.tree_size == old.tree_size + 1


def test_rewritten_history_fails_consistency(genesis: Genesis, populated: Ledger) -> None:
    keys = trusted_keys(populated.committed.state)
    old = verify_checkpoint(populated.checkpoint().to_json(), keys, genesis.chain_id)
    head = populated.committed
    rewritten = sign_checkpoint(
        signer_for("hospital-a"), member="hospital-a", chain_id=genesis.chain_id,
        tree_size=head.frontier.size + 1, root_hash=b"\x07" * 32,
        block_height=head.height + 1, block_hash=b"\x08" * 32, time=head.time,
    )
    leaves = populated.store.leaf_hashes(0, head.frontier.size)
    proof = consistency_proof([*leaves, leaf_hash(b"x")], old.tree_size)
    with pytest.raises(InvalidProof):
        verify_checkpoint_consistency(old, rewritten, proof)
