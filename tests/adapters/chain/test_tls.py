"""The etcd client over mutual TLS: appends, reads and watches, and each rejected certificate.

The cluster is one etcd 3.4 member on 127.0.0.1 started with
`--client-cert-auth --trusted-ca-file --cert-file --key-file`. Its
certificate names 127.0.0.1 and localhost, and the trusted CA also signed
the client certificate the tests present.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.chain import etcd_gateway
from adapters.chain.etcd import EtcdChainStore
from adapters.chain.etcd_gateway import EtcdGateway
from adapters.chain.etcd_tls import EtcdTls
from adapters.chain.local_cluster import LocalCluster
from consent_chain.errors import StoreUnavailable
from consent_chain.genesis import Genesis
from consent_chain.replication import ChainFollower
from consent_chain.store_sqlite import SqliteChainStore
from consent_chain.verify import verify_chain
from tests.adapters.chain.certs import KeyPair, Pki
from tests.adapters.chain.cluster import unique_prefix
from tests.adapters.chain.institutions import Institution, open_institution
from tests.consent_chain.builders import signer_for

# Long enough for a healthy member. Each rejection below must return within
# half of it, so a rejection retried until the deadline fails the test.
DEADLINE_SECONDS = 3.0


@pytest.fixture
def hospital(tls_cluster: LocalCluster, pki: Pki, chain_genesis: Genesis
             ) -> Iterator[Institution]:
    """hospital-a's store and ledger on a fresh chain, over mutual TLS."""
    opened = open_institution("hospital-a", tls_cluster.endpoints, unique_prefix("tls"),
                              chain_genesis, tls=pki.client_tls())
    yield opened
    opened.close()


def rejection(endpoints: list[str], tls: EtcdTls) -> str:
    """Open a store with `tls`, expect StoreUnavailable in time and return its message."""
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        EtcdChainStore(endpoints, unique_prefix("tls"), "00" * 32, tls=tls,
                       deadline=DEADLINE_SECONDS)
    assert time.monotonic() - started < DEADLINE_SECONDS / 2
    return str(raised.value)


def test_store_appends_and_reads_over_tls(hospital: Institution) -> None:
    hospital.register()
    inclusion = hospital.decision(1).result(10)
    head = hospital.store.head()
    assert head is not None
    assert head.height == inclusion.height
    assert hospital.store.block_at(inclusion.height).block_hash == head.block_hash
    assert hospital.store.find_transaction(inclusion.tx_hash) is not None


def test_feed_watch_over_tls(hospital: Institution) -> None:
    hospital.register()
    feed = hospital.store.feed()
    page = feed.read_blocks(1, 10)
    assert [event.height for event in page.events] == [1]
    watch = feed.watch(page.revision + 1)
    try:
        inclusion = hospital.decision(1).result(10)
        event = next(watch.events())
    finally:
        watch.close()
    assert event.kind == "block"
    assert event.height == inclusion.height


def test_follower_mirrors_and_stops_over_tls(
    hospital: Institution, tls_cluster: LocalCluster, pki: Pki, chain_genesis: Genesis,
    tmp_path: Path,
) -> None:
    hospital.register()
    store = EtcdChainStore(tls_cluster.endpoints, hospital.store.keys.prefix,
                           chain_genesis.chain_id, tls=pki.client_tls())
    mirror = SqliteChainStore(tmp_path / "mirror.sqlite", chain_genesis.chain_id)
    node = ChainFollower(store.feed(), mirror, chain_genesis, member="clinic-b",
                         signer=signer_for("clinic-b"))
    node.start()
    try:
        inclusion = hospital.decision(1).result(10)
        assert node.wait_for_height(inclusion.height, timeout=10)
        assert verify_chain(mirror, chain_genesis).ok
    finally:
        # Stopping closes the TLS watch while the follower's thread reads it.
        node.stop()
        store.close()
        mirror.close()


def test_localhost_endpoint_over_tls(tls_cluster: LocalCluster, pki: Pki) -> None:
    port = tls_cluster.members[0].client_port
    gateway = EtcdGateway([f"https://localhost:{port}"], tls=pki.client_tls())
    try:
        response = gateway.call("/v3/kv/range", {"key": "AA=="})
    finally:
        gateway.close()
    assert "revision" in response["header"]


def test_client_without_certificate_rejected(tls_cluster: LocalCluster, pki: Pki) -> None:
    message = rejection(tls_cluster.endpoints, EtcdTls(pki.ca.cert_file))
    assert "TLS handshake failed with every etcd member" in message
    assert "did not accept this client's certificate" in message
    assert tls_cluster.endpoints[0] in message


def test_client_certificate_of_other_ca_rejected(tls_cluster: LocalCluster, pki: Pki) -> None:
    tls = EtcdTls(pki.ca.cert_file, pki.other_client.cert_file, pki.other_client.key_file)
    message = rejection(tls_cluster.endpoints, tls)
    assert "did not accept this client's certificate" in message


def test_watch_without_certificate_rejected(tls_cluster: LocalCluster, pki: Pki) -> None:
    gateway = EtcdGateway(tls_cluster.endpoints, tls=EtcdTls(pki.ca.cert_file))
    try:
        with pytest.raises(StoreUnavailable, match="no etcd member accepted a watch"):
            gateway.watch(b"test/", b"test0", 1)
    finally:
        gateway.close()


def test_client_trusting_other_ca_rejects_member(tls_cluster: LocalCluster, pki: Pki) -> None:
    tls = EtcdTls(pki.other_ca.cert_file, pki.client.cert_file, pki.client.key_file)
    message = rejection(tls_cluster.endpoints, tls)
    assert "the member's certificate failed verification" in message
    assert "unable to get local issuer certificate" in message


def test_member_certificate_for_other_host_rejected(pki: Pki) -> None:
    # A TLS listener acts as a member whose certificate, signed by the
    # trusted CA, names etcd.other.example instead of 127.0.0.1.
    with tls_listener(pki.other_host) as port:
        message = rejection([f"https://127.0.0.1:{port}"], pki.client_tls())
    assert "the member's certificate failed verification" in message
    assert "IP address mismatch" in message


@contextlib.contextmanager
def tls_listener(pair: KeyPair) -> Iterator[int]:
    """Accept TLS handshakes on 127.0.0.1 with `pair` until the block ends, and yield the port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pair.cert_file, pair.key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(1.0)
            with contextlib.suppress(OSError), context.wrap_socket(connection,
                                                                   server_side=True):
                pass
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.parametrize(
    ("reason", "permanent"),
    [
        ("SSLV3_ALERT_BAD_CERTIFICATE", True),
        ("TLSV13_ALERT_CERTIFICATE_REQUIRED", True),
        ("TLSV1_ALERT_UNKNOWN_CA", True),
        ("TLSV1_ALERT_INTERNAL_ERROR", False),
        ("UNEXPECTED_EOF_WHILE_READING", False),
    ],
)
def test_only_certificate_alerts_stop_retries(reason: str, permanent: bool) -> None:
    error = ssl.SSLError(1, reason)
    error.reason = reason
    assert isinstance(etcd_gateway._failure(error), etcd_gateway._TlsFailure) is permanent
