"""Fixtures for the etcd chain tests: the shared cluster, institutions and followers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.chain.etcd import EtcdChainStore
from adapters.chain.local_cluster import LocalCluster
from consent_chain.cosign import FinalityRule
from consent_chain.genesis import Genesis
from consent_chain.replication import ChainFollower, HaltEvidence
from consent_chain.store_sqlite import SqliteChainStore
from tests.adapters.chain.certs import Pki
from tests.adapters.chain.cluster import (
    heal,
    session_cluster,
    session_tls_cluster,
    stop_session_cluster,
    stop_session_tls_cluster,
    unique_prefix,
)
from tests.adapters.chain.institutions import Institution, open_institution, two_proposer_genesis
from tests.consent_chain.builders import signer_for

InstitutionFactory = Callable[[str], Institution]
FollowerFactory = Callable[..., ChainFollower]


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A local 3-member etcd cluster shared by every test in the session."""
    yield session_cluster(tmp_path_factory)
    stop_session_cluster()


@pytest.fixture(scope="session")
def tls_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, Pki]]:
    """A local 1-member etcd cluster that requires mutual TLS, and its certificates."""
    yield session_tls_cluster(tmp_path_factory)
    stop_session_tls_cluster()


@pytest.fixture
def tls_cluster(tls_etcd: tuple[LocalCluster, Pki]) -> LocalCluster:
    """The session's mutual-TLS cluster."""
    return tls_etcd[0]


@pytest.fixture
def pki(tls_etcd: tuple[LocalCluster, Pki]) -> Pki:
    """The CAs and key pairs of the mutual-TLS cluster and its clients."""
    return tls_etcd[1]


@pytest.fixture
def cluster(etcd_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The shared cluster, with every member a test killed restarted afterwards."""
    yield etcd_cluster
    heal(etcd_cluster)


@pytest.fixture
def chain_genesis() -> Genesis:
    """Genesis with two proposing hospitals (hospital-a, clinic-b) and a steward."""
    return two_proposer_genesis()


@pytest.fixture
def prefix() -> str:
    """A fresh etcd prefix for this test's chain."""
    return unique_prefix("chain")


@pytest.fixture
def raw_store(cluster: LocalCluster, prefix: str, chain_genesis: Genesis
              ) -> Iterator[EtcdChainStore]:
    """A store on the test's chain, for writing blocks straight into etcd."""
    store = EtcdChainStore(cluster.endpoints, prefix, chain_genesis.chain_id)
    yield store
    store.close()


@pytest.fixture
def institution(cluster: LocalCluster, prefix: str, chain_genesis: Genesis
                ) -> Iterator[InstitutionFactory]:
    """Open a proposing institution on the test's chain; all are closed afterwards."""
    opened: list[Institution] = []

    def open_one(member: str) -> Institution:
        opened.append(open_institution(member, cluster.endpoints, prefix, chain_genesis))
        return opened[-1]

    yield open_one
    for item in opened:
        item.close()


@pytest.fixture
def follower(cluster: LocalCluster, prefix: str, chain_genesis: Genesis, tmp_path: Path
             ) -> Iterator[FollowerFactory]:
    """Start a follower of the test's chain that mirrors into its own SQLite file."""
    started: list[tuple[ChainFollower, EtcdChainStore, SqliteChainStore]] = []

    def start_one(member: str, finality: FinalityRule = "proposer", cosigns: bool = True,
                  alarms: list[HaltEvidence] | None = None) -> ChainFollower:
        store = EtcdChainStore(cluster.endpoints, prefix, chain_genesis.chain_id)
        mirror = SqliteChainStore(tmp_path / f"{member}-{len(started)}.sqlite",
                                  chain_genesis.chain_id)
        node = ChainFollower(
            store.feed(), mirror, chain_genesis, member=member if cosigns else None,
            signer=signer_for(member) if cosigns else None, finality=finality,
            on_alarm=alarms.append if alarms is not None else None,
        )
        node.start()
        started.append((node, store, mirror))
        return node

    yield start_one
    for node, store, mirror in started:
        node.stop()
        store.close()
        mirror.close()
