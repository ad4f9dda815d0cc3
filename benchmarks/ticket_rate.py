"""Measure htsget tickets per second for one region query, against `/reads/service-info`.

The script copies the shared NA12878 BAM into a temporary directory and
starts a Consentry node on 127.0.0.1 in a subprocess. It keeps a few
keep-alive connections busy with wrk, or with an asyncio client when wrk is
missing. The trivial `/reads/service-info` endpoint is loaded first as the
baseline, then the ticket URL, each after a warm-up. It prints requests per second, p50/p99
latency and the count of non-200 responses for each, and the ticket rate as
a fraction of the baseline. The node is stopped before the script exits.

Run: python -m benchmarks.ticket_rate --help
"""

from __future__ import annotations

import argparse
import json
import pstats
import sys
import tempfile
import urllib.request
from pathlib import Path

from benchmarks.environment import SHARED_BAM_ID, copy_shared_bam, describe_machine, reads_path
from benchmarks.load import LoadResult, run_load
from benchmarks.node import READY_PATH, running_node
from benchmarks.ticket_cost import ticket_cost

TARGET_TICKETS_PER_SECOND = 2000
DEFAULT_REGION = "11:5000000-5010000"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ticket_rate", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--region", default=DEFAULT_REGION,
                        help="region to request, NAME:START-END with a 0-based START")
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds per endpoint")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--server-cpus", type=_cpu_list, default=None,
                        help="pin the node to these CPUs, e.g. 0 or 0,1 (unpinned when not given)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the node under cProfile, write the statistics to this file "
                        "and print the functions with the most cumulative time")
    return parser.parse_args(argv)


def _cpu_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def measure(url: str, args: argparse.Namespace) -> LoadResult:
    """Warm up on `url`, then return one measured load run."""
    run_load(url, args.warmup, args.connections, args.threads)
    return run_load(url, args.seconds, args.connections, args.threads)


def check_ticket(url: str) -> int:
    """Fetch one ticket and return its number of URLs, or raise if the response is no ticket."""
    with urllib.request.urlopen(url, timeout=10) as response:
        ticket = json.load(response)
    if "htsget" not in ticket:
        raise RuntimeError(f"{url} did not return an htsget ticket: {ticket}")
    return len(ticket["htsget"]["urls"])


def print_profile(path: Path) -> None:
    """Print the 25 functions with the most cumulative time from a cProfile file."""
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for line in describe_machine():
        print(line)
    with tempfile.TemporaryDirectory(prefix="consentry-bench-") as temp:
        data_dir, state_dir = Path(temp, "data"), Path(temp, "state")
        data_dir.mkdir()
        state_dir.mkdir()
        copy_shared_bam(data_dir)
        print(f"ticket build: {ticket_cost(data_dir, SHARED_BAM_ID, args.region).summary()}")
        with running_node(data_dir, state_dir, args.workers, args.server_cpus,
                          args.profile) as node:
            ticket_url = node.url + reads_path(SHARED_BAM_ID, args.region)
            print(f"node: {node.url} with {args.workers} worker(s); "
                  f"ticket for {args.region} has {check_ticket(ticket_url)} URLs")
            baseline = measure(node.url + READY_PATH, args)
            print(f"service-info {baseline.summary()}")
            tickets = measure(ticket_url, args)
            print(f"ticket       {tickets.summary()}")
    ratio = tickets.rate / baseline.rate if baseline.rate else 0.0
    verdict = "met" if tickets.rate >= TARGET_TICKETS_PER_SECOND else "missed"
    print(f"ticket rate / service-info rate: {ratio:.3f}")
    print(f"target {TARGET_TICKETS_PER_SECOND} tickets/s: {verdict}")
    if args.profile is not None:
        print_profile(args.profile)
    errors = baseline.non_200 + baseline.socket_errors + tickets.non_200 + tickets.socket_errors
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
