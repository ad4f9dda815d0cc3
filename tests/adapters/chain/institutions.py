"""Two proposing institutions sharing one chain in etcd, as the etcd tests use them."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from adapters.chain.etcd import EtcdChainStore
from adapters.chain.etcd_tls import EtcdTls
from consent_chain.genesis import Genesis, make_genesis, member_entry
from consent_chain.ledger import Inclusion, Ledger
from tests.consent_chain.builders import (
    GENESIS_TIME,
    SUBMIT_POLICY,
    TxFactory,
    access_decision,
    consent,
    signer_for,
)

PROPOSERS = ("hospital-a", "clinic-b")
ROLES = {"hospital-a": "hospital", "clinic-b": "hospital", "steward": "steward"}


def two_proposer_genesis() -> Genesis:
    """Return a genesis with two hospitals that both propose blocks, and a steward."""
    members = [
        member_entry(member, member.title(), role, [signer_for(member).public_key])
        for member, role in ROLES.items()
    ]
    return make_genesis(name="consentry-etcd-test", time=GENESIS_TIME, members=members,
                        submit=SUBMIT_POLICY, proposers=list(PROPOSERS))


def dataset_of(member: str) -> str:
    """Return the id of the dataset `member` registers."""
    return f"EGAD-{member}"


@dataclass
class Institution:
    """One proposing member: its store, ledger and transaction counter."""

    member: str
    store: EtcdChainStore
    ledger: Ledger
    txs: TxFactory
    lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, tx_type: str, payload: dict[str, object]) -> Future[Inclusion]:
        """Sign the member's next transaction and queue it."""
        with self.lock:
            seq = self.ledger.next_seq(self.member)
            tx = self.txs.make(self.member, tx_type, payload, seq=seq)
            return self.ledger.submit(tx)

    def decision(self, number: int) -> Future[Inclusion]:
        """Queue an allow decision on the member's dataset."""
        return self.submit("access_decision", decision_payload(self.member, number))

    def register(self) -> None:
        """Register the member's dataset and wait until it is committed."""
        future = self.submit("dataset_register",
                             {"dataset_id": dataset_of(self.member), "consent": consent()})
        future.result(10)

    def close(self) -> None:
        """Close the ledger and the store."""
        self.ledger.close()
        self.store.close()


def decision_payload(member: str, number: int) -> dict[str, object]:
    """Return an allow decision on `member`'s dataset."""
    payload = copy.deepcopy(access_decision(number))
    payload["consent"]["dataset_id"] = dataset_of(member)
    return payload


def open_institution(member: str, endpoints: list[str], prefix: str, genesis: Genesis,
                     *, max_block_delay_ms: int = 5, deadline: float = 5.0,
                     tls: EtcdTls | None = None) -> Institution:
    """Open `member`'s etcd store and ledger on the shared chain."""
    store = EtcdChainStore(endpoints, prefix, genesis.chain_id, tls=tls, deadline=deadline)
    ledger = Ledger(store, genesis, proposer=member, signer=signer_for(member),
                    max_block_transactions=100, max_block_delay_ms=max_block_delay_ms,
                    max_block_bytes=store.max_block_bytes)
    return Institution(member, store, ledger, TxFactory(genesis.chain_id))
