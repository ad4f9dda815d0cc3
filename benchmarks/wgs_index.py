"""Show whether htsget ticket time grows with the size of the BAM and its index.

The script writes a coordinate-sorted BAM into a temporary directory, with
a 100 bp read every `--spacing` bp on all 86 GRCh37/hs37d5 contigs. Names
and lengths come from the shared NA12878 BAM's header, so they cover 1..22,
X, Y, MT and the decoys. samtools indexes the file, and one Consentry node
serves it beside a copy of the small shared NA12878 BAM. For the same region on both
files it measures:

- the first ticket, which also reads and parses the BAI,
- the BAI query alone, in this process,
- tickets per second and p50/p99 latency under load (wrk or asyncio),

and prints each as the WGS-scale file's value divided by the small file's.
The node is stopped and the temporary files deleted before the script exits.

Run: python -m benchmarks.wgs_index --help
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from adapters.indexes.bai import parse_bai
from benchmarks.environment import (
    SHARED_BAM_ID,
    copy_shared_bam,
    describe_machine,
    parse_region,
    reads_path,
)
from benchmarks.load import LoadResult, run_load
from benchmarks.node import running_node
from benchmarks.synthetic_wgs import header_contigs, write_bam
from benchmarks.ticket_cost import ticket_cost

WGS_ID = "synthetic_wgs_grch37"
DEFAULT_REGION = "11:5000000-5010000"
INDEX_QUERY_REPEATS = 2000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.wgs_index", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--region", default=DEFAULT_REGION,
                        help="region requested from both files, NAME:START-END, 0-based START")
    parser.add_argument("--spacing", type=int, default=2000,
                        help="bp between read starts in the generated BAM (below 16384)")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per file")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds per file")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    return parser.parse_args(argv)


def first_ticket_ms(url: str) -> float:
    """Time one ticket request on a node that has not parsed this file's index yet."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} returned status {response.status}")
    return (time.perf_counter() - started) * 1e3


def index_query_us(bam: Path, region: str) -> tuple[float, float]:
    """Return (BAI parse ms, median BAI query µs) for `region` of `bam`, measured in-process."""
    name, start, end = parse_region(region)
    started = time.perf_counter()
    index = parse_bai(Path(f"{bam}.bai").read_bytes())
    parse_ms = (time.perf_counter() - started) * 1e3
    ref_id = [contig.name for contig in header_contigs(bam)].index(name)
    timings = []
    for _ in range(INDEX_QUERY_REPEATS):
        started = time.perf_counter()
        index.query(ref_id, start or 0, end or 1 << 29)
        timings.append(time.perf_counter() - started)
    return parse_ms, statistics.median(timings) * 1e6


def print_comparison(label: str, small: float, wgs: float, unit: str) -> None:
    """Print one measure for both files and the WGS/small ratio."""
    ratio = wgs / small if small else float("nan")
    print(f"{label:<24} small {small:10.2f} {unit:<5} WGS {wgs:10.2f} {unit:<5} ratio {ratio:6.2f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for line in describe_machine():
        print(line)
    with tempfile.TemporaryDirectory(prefix="consentry-bench-") as temp:
        data_dir, state_dir = Path(temp, "data"), Path(temp, "state")
        data_dir.mkdir()
        state_dir.mkdir()
        small = copy_shared_bam(data_dir)
        started = time.perf_counter()
        wgs = write_bam(header_contigs(small), args.spacing, data_dir / f"{WGS_ID}.bam")
        print(f"generated {wgs.reads} reads on {wgs.contigs} contigs in "
              f"{time.perf_counter() - started:.1f} s")
        for path in (small, small.with_suffix(".bam.bai"), wgs.bam, wgs.bai):
            print(f"  {path.name:<36} {path.stat().st_size:>12,} bytes")

        parse_small, query_small = index_query_us(small, args.region)
        parse_wgs, query_wgs = index_query_us(wgs.bam, args.region)
        costs = [ticket_cost(data_dir, object_id, args.region)
                 for object_id in (SHARED_BAM_ID, WGS_ID)]
        with running_node(data_dir, state_dir) as node:
            small_url = node.url + reads_path(SHARED_BAM_ID, args.region)
            wgs_url = node.url + reads_path(WGS_ID, args.region)
            cold = (first_ticket_ms(small_url), first_ticket_ms(wgs_url))
            loads: list[LoadResult] = []
            for url in (small_url, wgs_url):
                run_load(url, args.warmup, args.connections)
                loads.append(run_load(url, args.seconds, args.connections))

    print(f"region {args.region}")
    print_comparison("BAI parse, in-process", parse_small, parse_wgs, "ms")
    print_comparison("BAI query, in-process", query_small, query_wgs, "µs")
    print_comparison("ticket build, in-process", costs[0].ticket_ms, costs[1].ticket_ms, "ms")
    print_comparison("  without edge encoding", costs[0].without_edge_encoding_ms,
                     costs[1].without_edge_encoding_ms, "ms")
    print_comparison("first ticket (cold)", *cold, "ms")
    print_comparison("tickets/s", loads[0].rate, loads[1].rate, "req/s")
    print_comparison("p50 latency", loads[0].p50_ms, loads[1].p50_ms, "ms")
    print_comparison("p99 latency", loads[0].p99_ms, loads[1].p99_ms, "ms")
    for name, result, cost in zip(("small", "WGS"), loads, costs, strict=True):
        print(f"{name:<6}{result.summary()}")
        print(f"{'':<6}{cost.summary()}")
    return 1 if any(result.non_200 or result.socket_errors for result in loads) else 0


if __name__ == "__main__":
    sys.exit(main())
