"""Measure DRS bulk object resolution: objects per second in `POST /objects` requests of 100 ids.

The script registers synthetic DRS records in a fresh registry, starts a
Consentry node on 127.0.0.1 in a subprocess with `auth.mode: open`, and
sends bulk requests over keep-alive connections from a few client threads
for a fixed time. Each request names `--batch` distinct ids picked at
random. It prints requests and objects per second, p50/p99 latency, and
checks that every id resolved. The node is stopped before the script exits.

Run: python -m benchmarks.drs_bulk --help
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.environment import describe_machine
from benchmarks.node import running_node
from service.drs.registry import DrsRecord, DrsRegistry

TARGET_OBJECTS_PER_SECOND = 1000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.drs_bulk", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--objects", type=int, default=10_000, help="registered objects")
    parser.add_argument("--batch", type=int, default=100, help="ids per bulk request")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    return parser.parse_args(argv)


def register_records(state_dir: Path, count: int) -> list[str]:
    """Register `count` synthetic records; return their ids."""
    registry = DrsRegistry.in_state_dir(state_dir)
    ids = []
    for number in range(count):
        record = DrsRecord(
            id=f"bench.{number:08d}", name=f"sample{number}.bam", dataset_id="bench",
            storage_key=f"bench/sample{number}.bam", size=1000 + number,
            created_time="2025-01-01T00:00:00Z", mime_type="application/vnd.ga4gh.bam",
            sha256=f"{number:064x}", md5=f"{number:032x}", format="BAM",
            index_keys=(f"bench/sample{number}.bam.bai",),
        )
        registry.add(record)
        ids.append(record.id)
    return ids


def run_clients(url: str, ids: list[str], args: argparse.Namespace,
                seconds: float) -> tuple[list[float], int]:
    """Send bulk requests from `args.clients` threads for `seconds`; return latencies, failures."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        nonlocal failures
        chooser = random.Random(seed)
        with httpx.Client(timeout=30) as session:
            while time.monotonic() < deadline:
                batch = chooser.sample(ids, args.batch)
                started = time.perf_counter()
                response = session.post(url, json={"bulk_object_ids": batch})
                elapsed = time.perf_counter() - started
                resolved = response.status_code == 200 and (
                    response.json()["summary"]["resolved"] == args.batch
                )
                with lock:
                    latencies.append(elapsed)
                    failures += 0 if resolved else 1

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["CONSENTRY_AUTH__MODE"] = "open"
    os.environ["CONSENTRY_DRS__MAX_BULK_REQUEST_LENGTH"] = str(max(args.batch, 1000))
    with tempfile.TemporaryDirectory(prefix="consentry-drs-bench-") as work:
        state_dir, data_dir = Path(work) / "state", Path(work) / "data"
        data_dir.mkdir()
        ids = register_records(state_dir, args.objects)
        with running_node(data_dir, state_dir) as node:
            url = f"{node.url}/ga4gh/drs/v1/objects"
            run_clients(url, ids, args, args.warmup)
            latencies, failures = run_clients(url, ids, args, args.seconds)
    requests = len(latencies)
    rate = requests * args.batch / args.seconds
    quantiles = statistics.quantiles(latencies, n=100)
    print("\n".join(describe_machine()))
    print(f"{args.objects} registered objects, {args.batch} ids per request, "
          f"{args.clients} client threads, {args.seconds:.0f} s")
    print(f"requests/s: {requests / args.seconds:.1f}  objects/s: {rate:.0f}  "
          f"p50: {quantiles[49] * 1000:.1f} ms  p99: {quantiles[98] * 1000:.1f} ms  "
          f"failed requests: {failures}")
    met = rate >= TARGET_OBJECTS_PER_SECOND and failures == 0
    print(f"target {TARGET_OBJECTS_PER_SECOND} objects/s: {'met' if met else 'missed'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
