"""Followers mirror and verify the etcd chain and halt on forged or equivocating blocks."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from adapters.chain.etcd import EtcdChainStore
from adapters.chain.local_cluster import LocalCluster
from consent_chain.cosign import cosign
from consent_chain.errors import ChainCorrupted
from consent_chain.replication import ChainFollower, ChainHalted, HaltEvidence
from consent_chain.replication_core import verify_next_block
from consent_chain.transactions import SignedTransaction
from consent_chain.verify import verify_chain
from tests.adapters.chain.conftest import FollowerFactory, InstitutionFactory
from tests.adapters.chain.forge import forge_block, put_block
from tests.adapters.chain.institutions import Institution, decision_payload
from tests.consent_chain.builders import signer_for


def committed_chain(hospital: Institution, decisions: int) -> int:
    """Register the hospital's dataset, commit `decisions` decisions, return the head height."""
    hospital.register()
    for future in [hospital.decision(number) for number in range(decisions)]:
        future.result(10)
    head = hospital.store.head()
    assert head is not None
    return head.height


def wait_until_halted(node: ChainFollower, timeout: float = 10) -> HaltEvidence:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        evidence = node.status().evidence
        if evidence is not None:
            return evidence
        time.sleep(0.02)
    raise AssertionError(f"follower did not halt within {timeout} s: {node.status()}")


def next_decisions(hospital: Institution, first: int, count: int) -> list[SignedTransaction]:
    seq = hospital.ledger.next_seq(hospital.member)
    return [
        hospital.txs.make(hospital.member, "access_decision",
                          decision_payload(hospital.member, first + index), seq=seq + index)
        for index in range(count)
    ]


def test_follower_mirrors_verified_blocks(
    institution: InstitutionFactory, follower: FollowerFactory
) -> None:
    hospital = institution("hospital-a")
    height = committed_chain(hospital, 20)
    node = follower("clinic-b")
    assert node.wait_for_height(height, timeout=10)
    assert verify_chain(node.mirror, node.genesis).ok
    assert node.status().state == "following"


def test_follower_picks_up_new_blocks_by_watch(
    institution: InstitutionFactory, follower: FollowerFactory
) -> None:
    hospital = institution("hospital-a")
    hospital.register()
    node = follower("clinic-b")
    inclusion = hospital.decision(1).result(10)
    assert node.wait_for_height(inclusion.height, timeout=10)
    assert node.mirror.find_transaction(inclusion.tx_hash) is not None


def test_bad_signature_halts_every_follower(
    institution: InstitutionFactory, follower: FollowerFactory, cluster: LocalCluster,
    prefix: str,
) -> None:
    hospital = institution("hospital-a")
    height = committed_chain(hospital, 3)
    alarms: list[HaltEvidence] = []
    nodes = [follower("hospital-a", alarms=alarms), follower("clinic-b", alarms=alarms)]
    for node in nodes:
        assert node.wait_for_height(height, timeout=10)
    forged = forge_block(nodes[0].replay, next_decisions(hospital, 100, 2),
                         proposer="hospital-a", key_id=signer_for("hospital-a").key_id,
                         signer=signer_for("mallory"))
    put_block(cluster.endpoints, prefix, forged)
    for node in nodes:
        evidence = wait_until_halted(node)
        assert (evidence.kind, evidence.height) == ("invalid_block", height + 1)
        assert "signature does not verify" in evidence.reason
        with pytest.raises(ChainHalted):
            node.is_final(1)
    assert len(alarms) == 2


def test_wrong_prev_hash_halts_every_follower(
    institution: InstitutionFactory, follower: FollowerFactory, cluster: LocalCluster,
    prefix: str,
) -> None:
    hospital = institution("hospital-a")
    height = committed_chain(hospital, 3)
    nodes = [follower("hospital-a"), follower("clinic-b")]
    for node in nodes:
        assert node.wait_for_height(height, timeout=10)
    forged = forge_block(nodes[0].replay, next_decisions(hospital, 100, 1),
                         proposer="hospital-a", key_id=signer_for("hospital-a").key_id,
                         signer=signer_for("hospital-a"), prev_hash=b"\x11" * 32)
    put_block(cluster.endpoints, prefix, forged)
    for node in nodes:
        evidence = wait_until_halted(node)
        assert (evidence.kind, evidence.height) == ("invalid_block", height + 1)
        assert "prev_hash" in evidence.reason


def test_ledger_refuses_to_extend_forged_block(
    institution: InstitutionFactory, cluster: LocalCluster, prefix: str
) -> None:
    hospital = institution("hospital-a")
    committed_chain(hospital, 2)
    replay = hospital.ledger.committed
    forged = forge_block(replay, next_decisions(hospital, 100, 1), proposer="hospital-a",
                         key_id=signer_for("hospital-a").key_id, signer=signer_for("mallory"))
    put_block(cluster.endpoints, prefix, forged)
    with pytest.raises(ChainCorrupted, match="fails verification"):
        hospital.decision(200).result(10)


def test_two_signed_blocks_at_one_height_report_equivocation(
    institution: InstitutionFactory, follower: FollowerFactory, cluster: LocalCluster,
    prefix: str,
) -> None:
    hospital = institution("hospital-a")
    committed_chain(hospital, 2)
    parent = hospital.ledger.committed
    alternative = next_decisions(hospital, 300, 1)
    height = hospital.decision(3).result(10).height
    node = follower("clinic-b")
    assert node.wait_for_height(height, timeout=10)
    other = forge_block(parent, alternative, proposer="hospital-a",
                        key_id=signer_for("hospital-a").key_id, signer=signer_for("hospital-a"))
    put_block(cluster.endpoints, prefix, other)
    evidence = wait_until_halted(node)
    assert (evidence.kind, evidence.height) == ("equivocation", height)
    assert len({statement.signature for statement in evidence.statements}) == 2
    assert len({statement.block_hash for statement in evidence.statements}) == 2


def test_unsigned_rewrite_of_mirrored_block_halts(
    institution: InstitutionFactory, follower: FollowerFactory, cluster: LocalCluster,
    prefix: str,
) -> None:
    hospital = institution("hospital-a")
    committed_chain(hospital, 2)
    parent = hospital.ledger.committed
    alternative = next_decisions(hospital, 300, 1)
    height = hospital.decision(3).result(10).height
    node = follower("clinic-b")
    assert node.wait_for_height(height, timeout=10)
    other = forge_block(parent, alternative, proposer="hospital-a",
                        key_id=signer_for("hospital-a").key_id, signer=signer_for("mallory"))
    put_block(cluster.endpoints, prefix, other)
    evidence = wait_until_halted(node)
    assert (evidence.kind, evidence.height) == ("rewritten_block", height)


def test_store_reads_match_follower_mirror(
    institution: InstitutionFactory, follower: FollowerFactory, raw_store: EtcdChainStore
) -> None:
    hospital = institution("hospital-a")
    height = committed_chain(hospital, 5)
    node = follower("clinic-b")
    assert node.wait_for_height(height, timeout=10)
    assert raw_store.block_at(height) == node.mirror.block_at(height)
    assert raw_store.leaf_hashes(0, 6) == node.mirror.leaf_hashes(0, 6)


def test_quorum_finality_waits_for_second_cosigner(
    institution: InstitutionFactory, follower: FollowerFactory
) -> None:
    hospital = institution("hospital-a")
    height = committed_chain(hospital, 2)
    first = follower("hospital-a", finality="quorum")
    assert first.wait_for_height(height, timeout=10)
    assert not first.wait_for_final(height, timeout=0.3)
    follower("clinic-b", finality="quorum")
    assert first.wait_for_final(height, timeout=10)
    assert first.book.cosigners(height) == ["clinic-b", "hospital-a"]


def test_followers_apply_member_add_and_count_new_cosigner(
    institution: InstitutionFactory, follower: FollowerFactory
) -> None:
    hospital = institution("hospital-a")
    committed_chain(hospital, 1)
    newcomer = signer_for("lab-d")
    member = {"id": "lab-d", "name": "Lab D", "role": "hospital",
              "keys": [{"key_id": newcomer.key_id, "public_key": newcomer.public_key.hex()}]}
    tx = hospital.txs.make("steward", "member_add", {"member": member})
    height = hospital.ledger.submit_and_wait(tx, timeout=10).height
    nodes = [follower(name, finality="quorum") for name in ("hospital-a", "clinic-b", "lab-d")]
    for node in nodes:
        assert node.wait_for_height(height, timeout=10)
    assert "lab-d" in nodes[0].replay.state.members
    assert nodes[0].wait_for_final(height, timeout=10)
    assert "lab-d" in nodes[0].book.cosigners(height)


def test_conflicting_cosignature_halts_follower(
    institution: InstitutionFactory, follower: FollowerFactory, raw_store: EtcdChainStore
) -> None:
    hospital = institution("hospital-a")
    committed_chain(hospital, 2)
    parent = hospital.ledger.committed
    alternative = next_decisions(hospital, 300, 1)
    height = hospital.decision(3).result(10).height
    node = follower("clinic-b", cosigns=False)
    assert node.wait_for_height(height, timeout=10)
    other = forge_block(parent, alternative, proposer="hospital-a",
                        key_id=signer_for("hospital-a").key_id, signer=signer_for("hospital-a"))
    replay = replace(parent)
    assert verify_next_block(replay, other) is None
    raw_store.feed().publish_cosignature(
        height, "steward", cosign(signer_for("steward"), "steward", parent.state.chain_id, replay))
    evidence = wait_until_halted(node)
    assert (evidence.kind, evidence.height) == ("conflicting_cosignature", height)
