"""Fixtures for the consent chain tests: genesis, stores, ledgers and a populated chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.chain.etcd import EtcdChainStore
from adapters.chain.local_cluster import LocalCluster
from consent_chain.catalog import CATALOG_FILE, ConsentCatalog
from consent_chain.genesis import Genesis
from consent_chain.ledger import Ledger
from consent_chain.node import ChainNode, NodeSettings
from consent_chain.state import ChainState
from consent_chain.store import ChainStore
from consent_chain.store_sqlite import SqliteChainStore
from tests.adapters.chain.cluster import session_cluster, stop_session_cluster, unique_prefix
from tests.consent_chain.builders import (
    DATASET_ID,
    TxFactory,
    build_genesis,
    consent,
    participant,
    signer_for,
)

StoreFactory = Callable[[], ChainStore]


@pytest.fixture
def genesis() -> Genesis:
    """The test genesis with hospital-a, research-b and steward."""
    return build_genesis()


@pytest.fixture
def state(genesis: Genesis) -> ChainState:
    """Fresh chain state at genesis."""
    return ChainState(genesis)


@pytest.fixture
def txs(genesis: Genesis) -> TxFactory:
    """Transaction factory for the test chain."""
    return TxFactory(genesis.chain_id)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of the SQLite chain file."""
    return tmp_path / "chain.sqlite"


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A local 3-member etcd cluster shared by every test in the session."""
    yield session_cluster(tmp_path_factory)
    stop_session_cluster()


@pytest.fixture(params=["sqlite"])
def store_factory(
    request: pytest.FixtureRequest, genesis: Genesis, db_path: Path
) -> Iterator[StoreFactory]:
    """Open (or reopen) a store on the same location: SQLite, or etcd where a test asks for it.

    Parametrize `store_factory` indirectly with ["sqlite", "etcd"] to run a test on both.
    """
    opened: list[ChainStore] = []
    prefix = unique_prefix("store")

    def open_store() -> ChainStore:
        store: ChainStore
        if request.param == "etcd":
            cluster = request.getfixturevalue("etcd_cluster")
            store = EtcdChainStore(cluster.endpoints, prefix, genesis.chain_id)
        else:
            store = SqliteChainStore(db_path, genesis.chain_id)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> ChainStore:
    """An empty chain store."""
    return store_factory()


def open_ledger(
    store: ChainStore,
    genesis: Genesis,
    max_block_transactions: int = 100,
    max_block_delay_ms: int = 20,
) -> Ledger:
    """Open a ledger proposing as hospital-a."""
    return Ledger(store, genesis, proposer="hospital-a", signer=signer_for("hospital-a"),
                  max_block_transactions=max_block_transactions,
                  max_block_delay_ms=max_block_delay_ms)


@pytest.fixture
def ledger(store: ChainStore, genesis: Genesis) -> Iterator[Ledger]:
    """A ledger sealing blocks of up to 4 transactions or after 5 ms."""
    ledger = open_ledger(store, genesis, max_block_transactions=4, max_block_delay_ms=5)
    yield ledger
    ledger.close()


@pytest.fixture
def populated(store: ChainStore, genesis: Genesis, txs: TxFactory) -> Iterator[Ledger]:
    """A ledger whose store holds four blocks covering every transaction type.

    Blocks are sealed only by `flush`, so the block layout is fixed.
    """
    ledger = open_ledger(store, genesis, max_block_transactions=100, max_block_delay_ms=60_000)
    new_member = signer_for("biotech-c")
    rotated = signer_for("research-b/rotated")
    batches = [
        [txs.register_dataset(), txs.decision(1), txs.decision(2, "deny")],
        [
            txs.make("steward", "member_add", {"member": {
                "id": "biotech-c", "name": "Biotech C", "role": "research",
                "keys": [{"key_id": new_member.key_id, "public_key": new_member.public_key.hex()}],
            }}),
            txs.make("research-b", "member_key_rotate", {
                "new_key": {"key_id": rotated.key_id, "public_key": rotated.public_key.hex()},
                "retire_key_id": signer_for("research-b").key_id,
            }),
        ],
        [
            txs.make("hospital-a", "consent_update",
                     {"dataset_id": DATASET_ID, "version": 2, "consent": consent("publication")}),
            txs.make("hospital-a", "consent_withdraw",
                     {"dataset_id": DATASET_ID, "scope": "participant",
                      "participant": participant("participant-7")}),
            txs.decision(3),
        ],
        [txs.decision(4), txs.decision(5, "deny")],
    ]
    for batch in batches:
        futures = [ledger.submit(tx) for tx in batch]
        ledger.flush()
        for future in futures:
            future.result(5)
    yield ledger
    ledger.close()


@pytest.fixture
def node_settings(tmp_path: Path) -> NodeSettings:
    """Settings of a single-institution node in a fresh directory."""
    return NodeSettings(tmp_path / "chain", "hospital-a", "Hospital A", max_block_delay_ms=1)


@pytest.fixture
def chain_node(node_settings: NodeSettings) -> Iterator[ChainNode]:
    """An open single-institution chain node, closed after the test."""
    node = ChainNode.open(node_settings)
    yield node
    node.close()


@pytest.fixture
def catalog(node_settings: NodeSettings) -> Iterator[ConsentCatalog]:
    """The node's off-chain consent catalog."""
    node_settings.directory.mkdir(parents=True, exist_ok=True)
    opened = ConsentCatalog(node_settings.directory / CATALOG_FILE)
    yield opened
    opened.close()
