"""Deterministic members, genesis documents and transactions for the consent chain tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from consent_chain.crypto import Signer, participant_pseudonym, requester_pseudonym
from consent_chain.genesis import Genesis, make_genesis, member_entry
from consent_chain.store import ChainStore, StoredBlock
from consent_chain.transactions import SignedTransaction, sign_transaction

GENESIS_TIME = 1_767_225_600_000  # 2026-01-01T00:00:00Z in milliseconds
PSEUDONYM_SECRET = hashlib.sha256(b"consentry-test/pseudonym-secret").digest()
DATASET_ID = "EGAD00001000001"

MEMBERS = {
    "hospital-a": ("Hospital A", "hospital"),
    "research-b": ("Research Institute B", "research"),
    "steward": ("Consortium data steward", "steward"),
}

SUBMIT_POLICY = {
    "member_add": ["steward"],
    "member_key_rotate": ["hospital", "research", "steward"],
    "member_key_revoke": ["hospital", "research", "steward"],
    "dataset_register": ["hospital"],
    "consent_update": ["hospital"],
    "consent_withdraw": ["hospital"],
    "access_decision": ["hospital"],
}


def signer_for(name: str) -> Signer:
    """Return the signer whose seed is SHA-256 of the name, so keys are reproducible."""
    return Signer.from_seed(hashlib.sha256(f"consentry-test/{name}".encode()).digest())


def build_genesis(member_ids: tuple[str, ...] = tuple(MEMBERS)) -> Genesis:
    """Return the test genesis: the listed members, hospital-a proposes blocks."""
    members = [
        member_entry(member_id, MEMBERS[member_id][0], MEMBERS[member_id][1],
                     [signer_for(member_id).public_key])
        for member_id in member_ids
    ]
    return make_genesis(
        name="consentry-test",
        time=GENESIS_TIME,
        members=members,
        submit=SUBMIT_POLICY,
        proposers=["hospital-a"],
    )


def consent(version_note: str = "") -> dict[str, Any]:
    """Return a disease-specific consent with an ethics approval and a time limit."""
    modifiers = ["DUO:0000021", "DUO:0000025"]
    if version_note == "publication":
        modifiers.append("DUO:0000019")
    return {
        "permission": "DUO:0000007",
        "modifiers": modifiers,
        "disease_ids": ["MONDO:0007254"],
        "time_limit": {"not_after": GENESIS_TIME + 365 * 86_400_000},
    }


def access_decision(
    request_number: int, decision: str = "allow", version: int = 1
) -> dict[str, Any]:
    """Return an access decision payload for DATASET_ID."""
    payload: dict[str, Any] = {
        "request_id": f"req-{request_number:04d}",
        "time": GENESIS_TIME + request_number,
        "endpoint": "htsget/reads",
        "object_id": "NA12878.chr20",
        "region": {"reference_name": "chr20", "start": 0, "end": 100_000},
        "requester": requester_pseudonym(PSEUDONYM_SECRET, "https://issuer.test", "user-1"),
        "visas": [
            {"type": "ControlledAccessGrants", "issuer": "https://issuer.test",
             "jti": f"visa-{request_number}"},
        ],
        "consent": {"dataset_id": DATASET_ID, "version": version},
        "decision": decision,
        "reasons": ["ControlledAccessGrants visa matches the dataset"]
        if decision == "allow" else ["no ControlledAccessGrants visa for the dataset"],
    }
    return payload


def participant(name: str) -> str:
    """Return the pseudonym of a test participant."""
    return participant_pseudonym(PSEUDONYM_SECRET, name)


@dataclass
class TxFactory:
    """Signs transactions for one chain and tracks each member's next seq."""

    chain_id: str
    next_seq: dict[str, int] = field(default_factory=dict)
    clock: int = GENESIS_TIME

    def make(
        self,
        member: str,
        tx_type: str,
        payload: dict[str, Any],
        *,
        signer: Signer | None = None,
        seq: int | None = None,
    ) -> SignedTransaction:
        """Sign a transaction; without `seq`, use and advance the member's counter."""
        if seq is None:
            seq = self.next_seq.get(member, 1)
            self.next_seq[member] = seq + 1
        self.clock += 1
        return sign_transaction(
            signer or signer_for(member),
            chain_id=self.chain_id,
            tx_type=tx_type,
            member=member,
            seq=seq,
            time=self.clock,
            payload=payload,
        )

    def register_dataset(self) -> SignedTransaction:
        """Register DATASET_ID for hospital-a."""
        return self.make("hospital-a", "dataset_register",
                         {"dataset_id": DATASET_ID, "consent": consent()})

    def decision(self, request_number: int, decision: str = "allow") -> SignedTransaction:
        """Record an access decision by hospital-a on DATASET_ID."""
        return self.make("hospital-a", "access_decision", access_decision(request_number, decision))


def record_block_reads(store: ChainStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Return a list that receives the height of every later `store.block_at` call."""
    requested: list[int] = []
    read_block = store.block_at

    def recording_block_at(height: int) -> StoredBlock:
        requested.append(height)
        return read_block(height)

    monkeypatch.setattr(store, "block_at", recording_block_at)
    return requested
