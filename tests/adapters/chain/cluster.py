"""One local 3-member etcd cluster per test session, shared by every suite that needs it."""

from __future__ import annotations

import uuid

import pytest

from adapters.chain.local_cluster import LocalCluster
from tests.support import free_port, require_tool

_cluster: LocalCluster | None = None


def session_cluster(tmp_path_factory: pytest.TempPathFactory) -> LocalCluster:
    """Return the session's cluster, starting it (new data dirs, leader elected) on first use."""
    global _cluster
    if _cluster is None:
        binary = require_tool("etcd")
        ports = [(free_port(), free_port()) for _ in range(3)]
        cluster = LocalCluster(tmp_path_factory.mktemp("etcd"), ports, etcd_binary=binary)
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            raise
        _cluster = cluster
    return _cluster


def stop_session_cluster() -> None:
    """Stop the session's cluster if it runs."""
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


def heal(cluster: LocalCluster) -> None:
    """Restart any member a fault test killed and wait for a leader."""
    for member in cluster.members:
        if not member.running:
            cluster.start_member(member)
    cluster.wait_for_leader()


def unique_prefix(kind: str) -> str:
    """Return a fresh etcd key prefix, so tests sharing the cluster never see each other's keys."""
    return f"test/{kind}/{uuid.uuid4().hex[:12]}"
