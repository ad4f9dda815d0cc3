"""Chain state: member registry, keys, sequence numbers and datasets, and the rules
each transaction must satisfy against that state.

`ChainState.apply` is the single place that decides whether a transaction is
valid. The ledger calls it on submit and the verifier calls it on replay, so
both enforce the same rules in the same order.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import BaseModel

from consent_chain.canonical import canonical_bytes, sha256
from consent_chain.errors import InvalidBlock, InvalidTransaction
from consent_chain.genesis import Genesis
from consent_chain.models import (
    AccessDecision,
    ConsentUpdate,
    ConsentWithdraw,
    DatasetRegister,
    Member,
    MemberAdd,
    MemberKeyRevoke,
    MemberKeyRotate,
    TransactionType,
)
from consent_chain.transactions import SignedTransaction, has_valid_signature, validate_body


@dataclass
class KeyRecord:
    """A member's Ed25519 public key and whether it may still sign."""

    member: str
    public_key: bytes
    active: bool = True


@dataclass
class MemberRecord:
    """A registered member institution."""

    id: str
    name: str
    role: str
    key_ids: list[str]


@dataclass
class DatasetRecord:
    """A registered dataset, its custodian and its current consent."""

    custodian: str
    version: int
    consent: dict[str, Any]
    withdrawn: bool = False
    withdrawn_participants: set[str] = field(default_factory=set)


class ChainState:
    """State after applying every transaction so far, starting from a genesis document."""

    def __init__(self, genesis: Genesis) -> None:
        self.chain_id = genesis.chain_id
        self.policy = genesis.model.policy
        self._policy_document: dict[str, Any] = genesis.document["policy"]
        self.members: dict[str, MemberRecord] = {}
        self.keys: dict[str, KeyRecord] = {}
        self.last_seq: dict[str, int] = {}
        self.datasets: dict[str, DatasetRecord] = {}
        for member in genesis.model.members:
            self._add_member(member)

    def copy(self) -> ChainState:
        """Return an independent copy, for applying transactions speculatively."""
        return copy.deepcopy(self)

    def next_seq(self, member: str) -> int:
        """Return the sequence number the member's next transaction must carry."""
        return self.last_seq.get(member, 0) + 1

    def config_document(self) -> dict[str, Any]:
        """Return the registry and policy in force, in the form `config_hash` hashes."""
        members = []
        for member in sorted(self.members.values(), key=lambda record: record.id):
            keys = [
                {
                    "key_id": key_id,
                    "public_key": self.keys[key_id].public_key.hex(),
                    "status": "active" if self.keys[key_id].active else "revoked",
                }
                for key_id in sorted(member.key_ids)
            ]
            members.append({"id": member.id, "name": member.name, "role": member.role,
                            "keys": keys})
        return {"members": members, "policy": self._policy_document}

    def config_hash(self) -> bytes:
        """Return SHA-256 of the canonical config document."""
        return sha256(canonical_bytes(self.config_document()))

    def block_signer_key(self, proposer: str, key_id: str) -> bytes:
        """Return the public key a block by `proposer` signed with `key_id` must verify under."""
        if proposer not in self.policy.block.proposers:
            raise InvalidBlock(f"member {proposer!r} is not an allowed block proposer")
        key = self.keys.get(key_id)
        if key is None or key.member != proposer:
            raise InvalidBlock(f"key {key_id} is not a registered key of proposer {proposer!r}")
        if not key.active:
            raise InvalidBlock(f"key {key_id} of proposer {proposer!r} is revoked")
        return key.public_key

    def apply(self, tx: SignedTransaction) -> None:
        """Check `tx` against this state and apply it; raise InvalidTransaction if it fails.

        A rejected transaction leaves the state unchanged.
        """
        payload = tx.payload_model if tx.payload_model is not None else validate_body(tx.body)
        if tx.body["chain_id"] != self.chain_id:
            raise InvalidTransaction(
                f"transaction is for chain {tx.body['chain_id']}, not {self.chain_id}"
            )
        self._check_signer(tx)
        expected_seq = self.next_seq(tx.member)
        if tx.seq != expected_seq:
            raise InvalidTransaction(
                f"member {tx.member!r} sent seq {tx.seq} but the next seq is {expected_seq}"
            )
        role = self.members[tx.member].role
        allowed_roles = self.policy.submit.get(cast(TransactionType, tx.type), [])
        if role not in allowed_roles:
            raise InvalidTransaction(
                f"policy does not allow role {role!r} ({tx.member}) to submit {tx.type}"
            )
        _RULES[tx.type](self, tx, payload)
        self.last_seq[tx.member] = tx.seq

    def check_signature_early(self, tx: SignedTransaction) -> None:
        """Verify the signature of `tx` ahead of `apply`, without holding any lock.

        The ledger calls this before it takes its lock, so submitter threads
        verify on every core at once (libsodium releases the GIL). A success
        is cached, and `apply` still checks the signer under the lock. An
        unknown key or a bad signature is left for `apply` to report.
        """
        key = self.keys.get(tx.key_id)
        if key is not None and key.member == tx.member:
            has_valid_signature(tx, key.public_key)

    def _check_signer(self, tx: SignedTransaction) -> None:
        if tx.member not in self.members:
            raise InvalidTransaction(f"member {tx.member!r} is not registered on this chain")
        key = self.keys.get(tx.key_id)
        if key is None or key.member != tx.member:
            raise InvalidTransaction(f"key {tx.key_id} is not a key of member {tx.member!r}")
        if not key.active:
            raise InvalidTransaction(f"key {tx.key_id} of member {tx.member!r} is revoked")
        if not has_valid_signature(tx, key.public_key):
            raise InvalidTransaction(
                f"signature does not verify under key {tx.key_id} of member {tx.member!r}"
            )

    def _add_member(self, member: Member) -> None:
        self.members[member.id] = MemberRecord(
            member.id, member.name, member.role, [key.key_id for key in member.keys]
        )
        for key in member.keys:
            self.keys[key.key_id] = KeyRecord(member.id, bytes.fromhex(key.public_key))

    def _active_key_count(self, member: str) -> int:
        return sum(1 for key_id in self.members[member].key_ids if self.keys[key_id].active)

    def _custodian_dataset(self, tx: SignedTransaction, dataset_id: str) -> DatasetRecord:
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            raise InvalidTransaction(f"dataset {dataset_id!r} is not registered")
        if dataset.custodian != tx.member:
            raise InvalidTransaction(
                f"dataset {dataset_id!r} belongs to {dataset.custodian!r}, not {tx.member!r}"
            )
        return dataset


def _member_add(state: ChainState, tx: SignedTransaction, model: BaseModel) -> None:
    payload = cast(MemberAdd, model)
    member = payload.member
    if member.id in state.members:
        raise InvalidTransaction(f"member {member.id!r} is already registered")
    for key in member.keys:
        if key.key_id in state.keys:
            raise InvalidTransaction(f"key {key.key_id} is already registered")
    state._add_member(member)


def _member_key_rotate(state: ChainState, tx: SignedTransaction, model: BaseModel) -> None:
    payload = cast(MemberKeyRotate, model)
    new_key = payload.new_key
    if new_key.key_id in state.keys:
        raise InvalidTransaction(f"key {new_key.key_id} is already registered")
    retired = payload.retire_key_id
    if retired is not None:
        record = state.keys.get(retired)
        if record is None or record.member != tx.member or not record.active:
            raise InvalidTransaction(f"key {retired} is not an active key of {tx.member!r}")
    state.keys[new_key.key_id] = KeyRecord(tx.member, bytes.fromhex(new_key.public_key))
    state.members[tx.member].key_ids.append(new_key.key_id)
    if retired is not None:
        state.keys[retired].active = False


def _member_key_revoke(state: ChainState, tx: SignedTransaction, model: BaseModel) -> None:
    payload = cast(MemberKeyRevoke, model)
    record = state.keys.get(payload.key_id)
    if record is None or record.member != tx.member or not record.active:
        raise InvalidTransaction(f"key {payload.key_id} is not an active key of {tx.member!r}")
    if state._active_key_count(tx.member) < 2:
        raise InvalidTransaction(
            f"key {payload.key_id} is the last active key of {tx.member!r}; rotate it instead"
        )
    record.active = False


def _dataset_register(state: ChainState, tx: SignedTransaction, model: BaseModel) -> None:
    payload = cast(DatasetRegister, model)
    if payload.dataset_id in state.datasets:
        raise InvalidTransaction(f"dataset {payload.dataset_id!r} is already registered")
    state.datasets[payload.dataset_id] = DatasetRecord(
        tx.member, 1, tx.payload["consent"]
    )


def _consent_update(state: ChainState, tx: SignedTransaction, model: BaseModel) -> None:
    payload = cast(ConsentUpdate, model)
    dataset = state._custodian_dataset(tx, payload.dataset_id)
    if dataset.withdrawn:
        raise InvalidTransaction(f"consent for dataset {payload.dataset_id!r} is withdrawn")
    if payload.version != dataset.version + 1:
        raise InvalidTransaction(
            f"dataset {payload.dataset_id!r} is at consent version {dataset.version}, "
            f"so the update must carry version {dataset.version + 1}, not {payload.version}"
        )
    dataset.version = payload.version
    dataset.consent = tx.payload["consent"]


def _consent_withdraw(state: ChainState, tx: SignedTransaction, model: BaseModel) -> None:
    payload = cast(ConsentWithdraw, model)
    dataset = state._custodian_dataset(tx, payload.dataset_id)
    if dataset.withdrawn:
        raise InvalidTransaction(f"consent for dataset {payload.dataset_id!r} is withdrawn")
    if payload.participant is None:
        dataset.withdrawn = True
        return
    if payload.participant in dataset.withdrawn_participants:
        raise InvalidTransaction(
            f"participant {payload.participant} already withdrew from {payload.dataset_id!r}"
        )
    dataset.withdrawn_participants.add(payload.participant)


def _access_decision(state: ChainState, tx: SignedTransaction, model: BaseModel) -> None:
    payload = cast(AccessDecision, model)
    dataset_id = payload.consent.dataset_id
    # Any member the submit policy allows may record decisions, because every
    # institution that serves a copy of a dataset records its own decisions.
    dataset = state.datasets.get(dataset_id)
    if dataset is None:
        raise InvalidTransaction(f"dataset {dataset_id!r} is not registered")
    if payload.consent.version > dataset.version:
        raise InvalidTransaction(
            f"decision evaluated consent version {payload.consent.version} of {dataset_id!r}, "
            f"but the latest version is {dataset.version}"
        )
    # Transactions are applied in chain order, so an allow that lands after a
    # whole-dataset withdrawal is always an error, whoever signed it.
    if payload.decision == "allow" and dataset.withdrawn:
        raise InvalidTransaction(f"allow decision on dataset {dataset_id!r} after withdrawal")


_Rule = Callable[[ChainState, SignedTransaction, BaseModel], None]
_RULES: dict[str, _Rule] = {
    "member_add": _member_add,
    "member_key_rotate": _member_key_rotate,
    "member_key_revoke": _member_key_revoke,
    "dataset_register": _dataset_register,
    "consent_update": _consent_update,
    "consent_withdraw": _consent_withdraw,
    "access_decision": _access_decision,
}
