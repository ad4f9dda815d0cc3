"""Measure what the consent chain adds to each htsget ticket: latency and decision throughput.

Two in-process nodes over local storage, one with `chain.enabled` and one
without, both in passport mode with a passport from the embedded broker that
grants the NA12878 dataset. The script times sequential tickets on each
node (p50 and p95), then runs tickets from several threads at once for a
fixed time to get tickets per second. With the chain on, every ticket is one
durably committed `access_decision`, so the rate there is decisions per
second. HTTP is left out, so the numbers isolate the access decision.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from benchmarks.environment import SHARED_BAM_ID, copy_shared_bam
from consent_chain.consents import build_consent, register_dataset
from service.auth.broker import BrokerSubject
from service.config import load_settings
from service.htsget.core import RequestContext
from service.htsget.query import Endpoint

with warnings.catch_warnings():
    # connexion 3.3 imports starlette.testclient, which warns that it wants httpx2.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from service.app import Services, build_services

DATASET_URL = "https://data.example.org/datasets/na12878"
PARAMS = {"referenceName": "11", "start": 5_000_000, "end": 5_010_000}

Ticket = Callable[[int], None]


def _node(root: Path, state: Path, chain: bool, delay_ms: int) -> tuple[Services, Ticket]:
    settings = load_settings(
        None, state_dir=state, storage={"backend": "local", "local_root": root},
        auth={"datasets": [{"id_prefix": SHARED_BAM_ID, "url": DATASET_URL}]},
        chain={"enabled": chain, "max_block_delay_ms": delay_ms},
    )
    services = build_services(settings)
    if services.consent is not None:
        register_dataset(services.consent.node, services.consent.catalog, "EGAD00000000001",
                         DATASET_URL, build_consent("GRU"), [SHARED_BAM_ID])
    assert services.auth.broker is not None
    passport = services.auth.broker.issue_passport(
        BrokerSubject("benchmark-user", grants=(DATASET_URL,)), 3600)

    def ticket(number: int) -> None:
        context = RequestContext(f"bench-{number}", f"Bearer {passport}")
        services.htsget.get(Endpoint.READS, SHARED_BAM_ID, PARAMS, context)

    ticket(0)  # fill the header, index and passport caches
    return services, ticket


def _latencies(ticket: Ticket, count: int) -> list[float]:
    times = []
    for number in range(count):
        start = time.perf_counter()
        ticket(number)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _throughput(ticket: Ticket, threads: int, seconds: float) -> float:
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        while time.monotonic() < deadline:
            ticket(index * 1_000_000 + counts[index])
            counts[index] += 1

    pool = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts) / seconds


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=300, help="sequential tickets per node")
    parser.add_argument("--threads", type=int, default=16, help="concurrent callers")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load run")
    parser.add_argument("--delay-ms", type=int, default=0,
                        help="chain.max_block_delay_ms of the chain node")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="consentry-decisions-") as temporary:
        base = Path(temporary)
        (base / "data").mkdir()
        copy_shared_bam(base / "data")
        for chain in (False, True):
            services, ticket = _node(base / "data", base / f"state-{chain}", chain, args.delay_ms)
            latencies = _latencies(ticket, args.tickets)
            rate = _throughput(ticket, args.threads, args.seconds)
            label = "chain on " if chain else "chain off"
            print(f"{label}: p50 {statistics.median(latencies):.2f} ms, "
                  f"p95 {_percentile(latencies, 0.95):.2f} ms sequential; "
                  f"{rate:.0f} tickets/s with {args.threads} threads")
            if services.consent is not None:
                head = services.consent.node.store.head()
                blocks = 0 if head is None else head.height
                print(f"           {blocks} blocks for "
                      f"{0 if head is None else head.log_size} transactions")
                services.consent.close()


if __name__ == "__main__":
    main()
