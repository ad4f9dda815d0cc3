"""Two institutions propose blocks to one etcd chain at the same time."""

from __future__ import annotations

import threading

import pytest

from consent_chain.ledger import Inclusion
from consent_chain.verify import verify_chain
from tests.adapters.chain.conftest import FollowerFactory, InstitutionFactory
from tests.adapters.chain.institutions import Institution, decision_payload
from tests.consent_chain.builders import record_block_reads

ROUNDS = 50
PER_ROUND = 10


def run_load(hospital: Institution, results: list[Inclusion]) -> None:
    """Submit ROUNDS waves of PER_ROUND decisions, waiting for each wave."""
    for wave in range(ROUNDS):
        futures = [hospital.decision(wave * PER_ROUND + n) for n in range(PER_ROUND)]
        results.extend(future.result(30) for future in futures)


def test_concurrent_proposers_never_fork(
    institution: InstitutionFactory, follower: FollowerFactory
) -> None:
    hospitals = [institution("hospital-a"), institution("clinic-b")]
    for hospital in hospitals:
        hospital.register()
    nodes = [follower("hospital-a"), follower("clinic-b")]
    results: dict[str, list[Inclusion]] = {hospital.member: [] for hospital in hospitals}
    threads = [threading.Thread(target=run_load, args=(hospital, results[hospital.member]))
               for hospital in hospitals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    head = hospitals[0].store.head()
    assert head is not None
    for node in nodes:
        assert node.wait_for_height(head.height, timeout=20)
    inclusions = [item for member in results.values() for item in member]
    assert len(inclusions) == 2 * ROUNDS * PER_ROUND
    assert len({item.leaf_index for item in inclusions}) == len(inclusions)
    assert head.log_size == len(inclusions) + 2
    assert nodes[0].status().block_hash == nodes[1].status().block_hash
    for node in nodes:
        assert verify_chain(node.mirror, node.genesis).ok
        missing = [item for item in inclusions
                   if node.mirror.find_transaction(item.tx_hash) is None]
        assert missing == []
    proposers = {hospital.ledger.committed.height for hospital in hospitals}
    assert max(proposers) <= head.height


def test_lagging_ledger_reads_only_new_blocks(
    institution: InstitutionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    hospital, clinic = institution("hospital-a"), institution("clinic-b")
    clinic.register()
    hospital.register()
    for number in range(3):
        hospital.decision(number).result(10)
    assert clinic.ledger.committed.height == 1
    requested = record_block_reads(clinic.store, monkeypatch)
    caught_up = clinic.ledger.catch_up()
    head = hospital.ledger.committed
    assert caught_up == head.height - 1
    assert requested == list(range(2, head.height + 2))
    assert clinic.ledger.committed.block_hash == head.block_hash
    assert clinic.ledger.committed.frontier.root() == head.frontier.root()
    inclusion = clinic.submit("access_decision", decision_payload("hospital-a", 9)).result(10)
    assert inclusion.height == head.height + 1


def test_catch_up_without_new_blocks_changes_nothing(institution: InstitutionFactory) -> None:
    clinic = institution("clinic-b")
    clinic.register()
    before = clinic.ledger.committed
    assert clinic.ledger.catch_up() == 0
    assert clinic.ledger.committed.block_hash == before.block_hash
