"""Local etcd clusters shared by every suite that needs them, one of each kind per session.

The plain cluster has 3 members. The TLS cluster has one member whose client
port requires mutual TLS, with certificates from `certs.new_pki`.
"""

from __future__ import annotations

import uuid

import pytest

from adapters.chain.local_cluster import LocalCluster, MemberTls
from tests.adapters.chain.certs import Pki, new_pki
from tests.support import free_port, require_tool

_cluster: LocalCluster | None = None
_tls_cluster: tuple[LocalCluster, Pki] | None = None


def start_cluster(tmp_path_factory: pytest.TempPathFactory, members: int,
                  tls: MemberTls | None = None) -> LocalCluster:
    """Start a new cluster of `members` members on free ports and wait for its leader."""
    binary = require_tool("etcd")
    ports = [(free_port(), free_port()) for _ in range(members)]
    cluster = LocalCluster(tmp_path_factory.mktemp("etcd"), ports, etcd_binary=binary, tls=tls)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def session_cluster(tmp_path_factory: pytest.TempPathFactory) -> LocalCluster:
    """Return the session's cluster, starting it (new data dirs, leader elected) on first use."""
    global _cluster
    if _cluster is None:
        _cluster = start_cluster(tmp_path_factory, 3)
    return _cluster


def session_tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalCluster, Pki]:
    """Return the session's mutual-TLS cluster and its certificates, started on first use."""
    global _tls_cluster
    if _tls_cluster is None:
        pki = new_pki(tmp_path_factory.mktemp("pki"))
        _tls_cluster = start_cluster(tmp_path_factory, 1, pki.member_tls()), pki
    return _tls_cluster


def stop_session_cluster() -> None:
    """Stop the session's plain cluster if it runs."""
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


def stop_session_tls_cluster() -> None:
    """Stop the session's TLS cluster if it runs."""
    global _tls_cluster
    if _tls_cluster is not None:
        _tls_cluster[0].stop()
        _tls_cluster = None


def heal(cluster: LocalCluster) -> None:
    """Restart any member a fault test killed and wait for a leader."""
    for member in cluster.members:
        if not member.running:
            cluster.start_member(member)
    cluster.wait_for_leader()


def unique_prefix(kind: str) -> str:
    """Return a fresh etcd key prefix, so tests sharing the cluster never see each other's keys."""
    return f"test/{kind}/{uuid.uuid4().hex[:12]}"
