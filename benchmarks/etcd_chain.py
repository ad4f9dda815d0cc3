"""Measure consent chain decisions/s and per-decision latency over a local 3-member etcd cluster.

Starts three etcd members on free 127.0.0.1 ports (Debian `etcd-server`),
opens one Ledger on an EtcdChainStore and one on a SQLite store, and runs
the same workload on both: `--threads` submitters, each calling
`submit_and_wait` for access decisions, with blocks of up to 100
transactions sealed after at most `--delay-ms`. It prints decisions/s and
the p50/p95 latency of `submit_and_wait`, and the p50 added by etcd over
SQLite. The cluster is killed at the end.

    python -m benchmarks.etcd_chain --seconds 10 --threads 32
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from adapters.chain.etcd import EtcdChainStore
from adapters.chain.local_cluster import LocalCluster
from consent_chain.ledger import Ledger
from consent_chain.store import ChainStore
from consent_chain.store_sqlite import SqliteChainStore
from tests.adapters.chain.institutions import Institution, two_proposer_genesis
from tests.consent_chain.builders import TxFactory, signer_for


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_workload(hospital: Institution, seconds: float, threads: int) -> tuple[int, list[float]]:
    """Run `threads` submitters for `seconds`; return the decision count and latencies (s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def submitter(offset: int) -> None:
        number, own = offset * 10_000_000, []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            hospital.decision(number).result(30)
            own.append(time.perf_counter() - started)
            number += 1
        with lock:
            latencies.extend(own)

    workers = [threading.Thread(target=submitter, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(latencies), latencies


def measure(name: str, open_store: Callable[[str], ChainStore], args: argparse.Namespace
            ) -> float:
    """Run the workload on one backend, print its line and return its p50 latency in ms."""
    genesis = two_proposer_genesis()
    store = open_store(genesis.chain_id)
    ledger = Ledger(store, genesis, proposer="hospital-a", signer=signer_for("hospital-a"),
                    max_block_transactions=100, max_block_delay_ms=args.delay_ms,
                    max_block_bytes=getattr(store, "max_block_bytes", None))
    hospital = Institution("hospital-a", store, ledger, TxFactory(genesis.chain_id))  # type: ignore[arg-type]
    hospital.register()
    run_workload(hospital, 1.0, args.threads)
    count, latencies = run_workload(hospital, args.seconds, args.threads)
    head = store.head()
    blocks = head.height if head else 0
    hospital.close()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(len(latencies) * 0.95)] * 1000
    print(f"{name}: {count / args.seconds:,.0f} decisions/s, p50 {p50:.2f} ms, "
          f"p95 {p95:.2f} ms, {blocks} blocks in total")
    return p50


def main() -> None:
    """Parse options, start the cluster, measure etcd and SQLite, print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per backend")
    parser.add_argument("--threads", type=int, default=32, help="concurrent submitters")
    parser.add_argument("--delay-ms", type=int, default=2, help="max_block_delay_ms of the ledger")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        cluster = LocalCluster(Path(tmp) / "etcd", [(free_port(), free_port()) for _ in range(3)])
        cluster.start()
        try:
            etcd_p50 = measure("etcd (3 members)", lambda chain_id: EtcdChainStore(
                cluster.endpoints, "bench/chain", chain_id), args)
        finally:
            cluster.stop()
        sqlite_p50 = measure("sqlite", lambda chain_id: SqliteChainStore(
            Path(tmp) / "chain.sqlite", chain_id), args)
    print(f"p50 added by etcd over sqlite: {etcd_p50 - sqlite_p50:.2f} ms")


if __name__ == "__main__":
    main()
