"""Tests for cosignature counting and the finality rules."""

from __future__ import annotations

import pytest

from consent_chain.canonical import canonical_bytes
from consent_chain.cosign import CosignatureBook, cosign, quorum_size
from consent_chain.genesis import Genesis
from consent_chain.ledger import Ledger
from consent_chain.verify import replay_chain
from tests.consent_chain.builders import signer_for


@pytest.mark.parametrize(("members", "quorum"), [(1, 1), (3, 2), (4, 3), (5, 4), (7, 5),
                                                  (10, 7)])
def test_quorum_size_table(members: int, quorum: int) -> None:
    assert quorum_size(members) == quorum


def book_at_head(populated: Ledger, genesis: Genesis, rule: str = "quorum") -> CosignatureBook:
    _, replay = replay_chain(populated.store, genesis)
    book = CosignatureBook(genesis.chain_id, rule)  # type: ignore[arg-type]
    book.record_block(replay.height, replay.block_hash, replay.state)
    return book


def signed_by(member: str, populated: Ledger, genesis: Genesis) -> bytes:
    _, replay = replay_chain(populated.store, genesis)
    return cosign(signer_for(member), member, genesis.chain_id, replay)


def test_quorum_rule_needs_enough_cosigners(populated: Ledger, genesis: Genesis) -> None:
    book = book_at_head(populated, genesis)
    height = populated.committed.height
    book.add(height, "hospital-a", signed_by("hospital-a", populated, genesis))
    book.add(height, "steward", signed_by("steward", populated, genesis))
    assert not book.is_final(height)
    book.add(height, "biotech-c", signed_by("biotech-c", populated, genesis))
    assert book.is_final(height)
    assert book.is_final(1)


def test_proposer_rule_is_final_once_verified(populated: Ledger, genesis: Genesis) -> None:
    book = book_at_head(populated, genesis, "proposer")
    assert book.is_final(populated.committed.height)
    assert not book.is_final(populated.committed.height + 1)


def test_rotated_out_key_cannot_cosign(populated: Ledger, genesis: Genesis) -> None:
    _, replay = replay_chain(populated.store, genesis)
    book = book_at_head(populated, genesis)
    height = populated.committed.height
    retired = cosign(signer_for("research-b"), "research-b", genesis.chain_id, replay)
    book.add(height, "research-b", retired)
    assert book.cosigners(height) == []
    rotated = cosign(signer_for("research-b/rotated"), "research-b", genesis.chain_id, replay)
    book.add(height, "research-b", rotated)
    assert book.cosigners(height) == ["research-b"]


def test_cosignature_under_wrong_member_is_ignored(populated: Ledger, genesis: Genesis) -> None:
    book = book_at_head(populated, genesis)
    height = populated.committed.height
    book.add(height, "steward", signed_by("hospital-a", populated, genesis))
    assert book.cosigners(height) == []


def test_early_cosignature_counts_once_block_is_recorded(
    populated: Ledger, genesis: Genesis
) -> None:
    _, replay = replay_chain(populated.store, genesis)
    book = CosignatureBook(genesis.chain_id, "quorum")
    data = cosign(signer_for("steward"), "steward", genesis.chain_id, replay)
    book.add(replay.height, "steward", data)
    book.record_block(replay.height, replay.block_hash, replay.state)
    assert book.cosigners(replay.height) == ["steward"]


def test_cosignature_of_other_block_is_evidence(populated: Ledger, genesis: Genesis) -> None:
    _, replay = replay_chain(populated.store, genesis)
    book = CosignatureBook(genesis.chain_id, "quorum")
    book.record_block(replay.height, b"\x22" * 32, replay.state)
    conflict = book.add(replay.height, "steward",
                        cosign(signer_for("steward"), "steward", genesis.chain_id, replay))
    assert conflict is not None
    assert conflict.checkpoint.body["block_hash"] == replay.block_hash.hex()


def test_unknown_rule_rejected(genesis: Genesis) -> None:
    with pytest.raises(ValueError, match="finality rule"):
        CosignatureBook(genesis.chain_id, "majority")  # type: ignore[arg-type]


def test_garbage_cosignature_is_ignored(populated: Ledger, genesis: Genesis) -> None:
    book = book_at_head(populated, genesis)
    height = populated.committed.height
    book.add(height, "steward", canonical_bytes({"body": {}, "signature": "00"}))
    assert book.cosigners(height) == []
