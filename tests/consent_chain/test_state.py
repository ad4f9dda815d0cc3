"""Tests for the transaction rules in ChainState: signatures, sequence and policy."""

from __future__ import annotations

import pytest

from consent_chain.canonical import canonical_bytes
from consent_chain.errors import InvalidBlock, InvalidTransaction
from consent_chain.state import ChainState
from consent_chain.transactions import SignedTransaction
from tests.consent_chain.builders import (
    DATASET_ID,
    TxFactory,
    access_decision,
    build_genesis,
    consent,
    participant,
    signer_for,
)


def rejects(state: ChainState, tx: SignedTransaction, message: str) -> None:
    before = state.config_document(), dict(state.last_seq), set(state.datasets)
    with pytest.raises(InvalidTransaction, match=message):
        state.apply(tx)
    after = state.config_document(), dict(state.last_seq), set(state.datasets)
    assert after == before


def key_payload(name: str) -> dict[str, str]:
    signer = signer_for(name)
    return {"key_id": signer.key_id, "public_key": signer.public_key.hex()}


def test_valid_transactions_apply(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    state.apply(txs.decision(1))
    assert state.next_seq("hospital-a") == 3


def test_bad_signature_rejected(state: ChainState, txs: TxFactory) -> None:
    tx = txs.register_dataset()
    signature = bytes([tx.signature[0] ^ 1]) + tx.signature[1:]
    forged = SignedTransaction(tx.body, signature, canonical_bytes(
        {"body": tx.body, "signature": signature.hex()}))
    rejects(state, forged, "signature does not verify")


def test_replayed_seq_rejected(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    rejects(state, txs.make("hospital-a", "access_decision",
                            access_decision(1), seq=1), "seq 1 but the next seq is 2")


def test_skipped_seq_rejected(state: ChainState, txs: TxFactory) -> None:
    rejects(state, txs.make("hospital-a", "dataset_register",
                            txs.register_dataset().payload, seq=2), "next seq is 1")


def test_key_of_other_member_rejected(state: ChainState, txs: TxFactory) -> None:
    tx = txs.make("hospital-a", "dataset_register", txs.register_dataset().payload,
                  signer=signer_for("research-b"), seq=1)
    rejects(state, tx, "is not a key of member 'hospital-a'")


def test_unknown_member_rejected(state: ChainState, txs: TxFactory) -> None:
    tx = txs.make("mallory", "dataset_register", txs.register_dataset().payload)
    rejects(state, tx, "'mallory' is not registered")


def test_wrong_chain_rejected(state: ChainState) -> None:
    other = TxFactory(build_genesis(("hospital-a",)).chain_id)
    rejects(state, other.register_dataset(), "is for chain")


def test_role_not_in_policy_rejected(state: ChainState, txs: TxFactory) -> None:
    tx = txs.make("research-b", "dataset_register",
                  {"dataset_id": "EGAD2", "consent": consent()})
    rejects(state, tx, "does not allow role 'research'")


def test_decision_by_other_member_accepted(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    state.policy.submit["access_decision"].append("research")
    state.apply(txs.make("research-b", "access_decision", access_decision(1)))
    assert state.next_seq("research-b") == 2


def test_withdrawal_by_non_custodian_rejected(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    state.policy.submit["consent_withdraw"].append("research")
    tx = txs.make("research-b", "consent_withdraw",
                  {"dataset_id": DATASET_ID, "scope": "dataset"})
    rejects(state, tx, "belongs to 'hospital-a'")


def test_allow_by_other_member_after_withdrawal_rejected(state: ChainState,
                                                         txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    state.apply(txs.make("hospital-a", "consent_withdraw",
                         {"dataset_id": DATASET_ID, "scope": "dataset"}))
    state.policy.submit["access_decision"].append("research")
    tx = txs.make("research-b", "access_decision", access_decision(1))
    rejects(state, tx, "after withdrawal")


def test_decision_on_unknown_dataset_rejected(state: ChainState, txs: TxFactory) -> None:
    rejects(state, txs.decision(1), "is not registered")


def test_decision_on_future_consent_version_rejected(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    payload = dict(access_decision(1), consent={"dataset_id": DATASET_ID, "version": 2})
    rejects(state, txs.make("hospital-a", "access_decision", payload), "latest version is 1")


def test_allow_after_withdrawal_rejected(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    state.apply(txs.make("hospital-a", "consent_withdraw",
                         {"dataset_id": DATASET_ID, "scope": "dataset"}))
    rejects(state, txs.decision(1), "after withdrawal")


def test_deny_after_withdrawal_applies(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    state.apply(txs.make("hospital-a", "consent_withdraw",
                         {"dataset_id": DATASET_ID, "scope": "dataset"}))
    state.apply(txs.decision(1, "deny"))
    assert state.next_seq("hospital-a") == 4


def test_duplicate_dataset_rejected(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    rejects(state, txs.register_dataset(), "already registered")


def test_consent_update_must_increment_version(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    tx = txs.make("hospital-a", "consent_update",
                  {"dataset_id": DATASET_ID, "version": 3, "consent": consent()})
    rejects(state, tx, "must carry version 2")


def test_participant_withdrawal_recorded_once(state: ChainState, txs: TxFactory) -> None:
    state.apply(txs.register_dataset())
    payload = {"dataset_id": DATASET_ID, "scope": "participant", "participant": participant("p")}
    state.apply(txs.make("hospital-a", "consent_withdraw", payload))
    assert state.datasets[DATASET_ID].withdrawn_participants == {participant("p")}
    rejects(state, txs.make("hospital-a", "consent_withdraw", payload), "already withdrew")


def test_member_add_by_steward(state: ChainState, txs: TxFactory) -> None:
    member = {"id": "biotech-c", "name": "Biotech C", "role": "research",
              "keys": [key_payload("biotech-c")]}
    state.apply(txs.make("steward", "member_add", {"member": member}))
    assert "biotech-c" in state.members


def test_member_add_by_hospital_rejected(state: ChainState, txs: TxFactory) -> None:
    member = {"id": "biotech-c", "name": "Biotech C", "role": "research",
              "keys": [key_payload("biotech-c")]}
    rejects(state, txs.make("hospital-a", "member_add", {"member": member}),
            "does not allow role 'hospital'")


def test_member_add_with_known_key_rejected(state: ChainState, txs: TxFactory) -> None:
    member = {"id": "biotech-c", "name": "Biotech C", "role": "research",
              "keys": [key_payload("research-b")]}
    rejects(state, txs.make("steward", "member_add", {"member": member}), "already registered")


def test_rotated_out_key_cannot_sign(state: ChainState, txs: TxFactory) -> None:
    old_key = signer_for("research-b").key_id
    state.apply(txs.make("research-b", "member_key_rotate", {
        "new_key": key_payload("research-b/2"), "retire_key_id": old_key}))
    payload = {"new_key": key_payload("research-b/3")}
    rejects(state, txs.make("research-b", "member_key_rotate", payload), "is revoked")
    state.apply(txs.make("research-b", "member_key_rotate", payload,
                         signer=signer_for("research-b/2"), seq=2))
    assert state.keys[signer_for("research-b/3").key_id].active


def test_revoking_last_key_rejected(state: ChainState, txs: TxFactory) -> None:
    tx = txs.make("research-b", "member_key_revoke",
                  {"key_id": signer_for("research-b").key_id, "reason": "compromised"})
    rejects(state, tx, "last active key")


def test_revoking_other_members_key_rejected(state: ChainState, txs: TxFactory) -> None:
    tx = txs.make("research-b", "member_key_revoke",
                  {"key_id": signer_for("hospital-a").key_id, "reason": "compromised"})
    rejects(state, tx, "not an active key of 'research-b'")


def test_config_hash_changes_with_registry(state: ChainState, txs: TxFactory) -> None:
    before = state.config_hash()
    state.apply(txs.make("research-b", "member_key_rotate", {"new_key": key_payload("rb2")}))
    assert state.config_hash() != before


def test_config_hash_ignores_datasets(state: ChainState, txs: TxFactory) -> None:
    before = state.config_hash()
    state.apply(txs.register_dataset())
    assert state.config_hash() == before


def test_block_signer_must_be_proposer(state: ChainState) -> None:
    with pytest.raises(InvalidBlock, match="not an allowed block proposer"):
        state.block_signer_key("research-b", signer_for("research-b").key_id)


def test_block_signer_key_must_belong_to_proposer(state: ChainState) -> None:
    with pytest.raises(InvalidBlock, match="not a registered key"):
        state.block_signer_key("hospital-a", signer_for("research-b").key_id)
