"""Compare reading a region through Consentry's htsget with reading it from the local file.

For each region the script times `samtools view -c '<htsget URL>'`, which
fetches the ticket and then every URL in it from a Consentry node on
127.0.0.1, and `samtools view -c FILE REGION` on a local copy of the shared
NA12878 BAM. Each command runs once unmeasured, then `--repeats` times,
alternating the two; the medians and their ratio (htsget / local) are
printed with the record counts. samtools counts every record in the htsget
stream, which holds whole BGZF blocks' worth of records around the region,
so its count can be higher than the local, exactly filtered count. The
median time of the ticket request alone is printed too, to split the htsget
time into ticket and data transfer. REF_PATH and REF_CACHE point into the
temporary directory. The node is stopped before the script exits.

Run: python -m benchmarks.region_read --help
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from benchmarks.environment import (
    SHARED_BAM_ID,
    copy_shared_bam,
    describe_machine,
    reads_path,
    samtools_region,
)
from benchmarks.node import running_node

TARGET_RATIO = 3.0
DEFAULT_REGIONS = ["11:5000000-5010000", "11:5000000-5050000", "11"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.region_read", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--region", action="append", dest="regions",
                        help="region NAME or NAME:START-END with a 0-based START, repeatable "
                        f"(default: {' '.join(DEFAULT_REGIONS)})")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each command")
    args = parser.parse_args(argv)
    args.regions = args.regions or DEFAULT_REGIONS
    return args


def run_count(command: list[str], env: Mapping[str, str]) -> tuple[float, int]:
    """Run a `samtools view -c` command and return (wall seconds, record count)."""
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with code {finished.returncode}: {finished.stderr.strip()}"
        )
    return elapsed, int(finished.stdout.strip())


def ticket_ms(url: str, repeats: int) -> float:
    """Return the median wall time in ms of fetching the ticket alone."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1e3


def compare_region(
    region: str, bam: Path, base_url: str, repeats: int, env: Mapping[str, str]
) -> float:
    """Time both commands for `region`, print the line and return the htsget/local ratio."""
    url = base_url + reads_path(SHARED_BAM_ID, region)
    commands = {
        "htsget": ["samtools", "view", "-c", url],
        "local": ["samtools", "view", "-c", str(bam), samtools_region(region)],
    }
    counts = {name: run_count(command, env)[1] for name, command in commands.items()}
    timings: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            timings[name].append(run_count(command, env)[0])
    htsget, local = (statistics.median(timings[name]) * 1e3 for name in ("htsget", "local"))
    ratio = htsget / local
    print(
        f"{region:<20} htsget {htsget:8.1f} ms ({counts['htsget']:>6} records)  "
        f"local {local:8.1f} ms ({counts['local']:>6} records)  ratio {ratio:5.2f}  "
        f"ticket alone {ticket_ms(url, repeats):6.1f} ms"
    )
    return ratio


def header_floor(bam: Path, base_url: str, repeats: int, env: Mapping[str, str]) -> None:
    """Print the cost of a `class=header` read, the least any htsget read through htslib costs."""
    commands = {
        "htsget header": [
            "samtools", "view", "-H", f"{base_url}/reads/{SHARED_BAM_ID}?class=header"
        ],
        "local header": ["samtools", "view", "-H", str(bam)],
        "samtools --version": ["samtools", "--version"],
    }
    for name, command in commands.items():
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, env=env, timeout=120, check=True)
            timings.append(time.perf_counter() - started)
        print(f"{name:<20} {statistics.median(timings) * 1e3:8.1f} ms")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for line in describe_machine():
        print(line)
    ratios = []
    with tempfile.TemporaryDirectory(prefix="consentry-bench-") as temp:
        data_dir, state_dir, ref_dir = Path(temp, "data"), Path(temp, "state"), Path(temp, "ref")
        for directory in (data_dir, state_dir, ref_dir):
            directory.mkdir()
        bam = copy_shared_bam(data_dir)
        env = {**os.environ, "REF_PATH": str(ref_dir), "REF_CACHE": str(ref_dir)}
        with running_node(data_dir, state_dir) as node:
            print(f"node: {node.url}; medians of {args.repeats} runs")
            for region in args.regions:
                ratios.append(compare_region(region, bam, node.url, args.repeats, env))
            header_floor(bam, node.url, args.repeats, env)
    worst = max(ratios)
    verdict = "met" if worst <= TARGET_RATIO else "missed"
    print(f"largest ratio {worst:.2f}; target <= {TARGET_RATIO:g}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
