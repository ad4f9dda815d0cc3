"""Helpers the benchmark scripts share: test data, htsget query paths and a machine description."""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.node import REPO_ROOT

SHARED_DATA = Path(os.environ.get("CONSENTRY_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))
SHARED_BAM_ID = "htsnexus_test_NA12878"
_REGION = re.compile(r"^([^:]+)(?::(\d+)-(\d+))?$")


def copy_shared_bam(target_dir: Path, object_id: str = SHARED_BAM_ID) -> Path:
    """Copy the shared NA12878 BAM and its BAI into `target_dir` as `<object_id>.bam`."""
    source = SHARED_DATA / f"{SHARED_BAM_ID}.bam"
    for suffix in ("", ".bai"):
        path = Path(f"{source}{suffix}")
        if not path.is_file():
            raise FileNotFoundError(
                f"test data file {path} is missing; set CONSENTRY_TEST_DATA to the data folder"
            )
        shutil.copyfile(path, target_dir / f"{object_id}.bam{suffix}")
    return target_dir / f"{object_id}.bam"


def parse_region(text: str) -> tuple[str, int | None, int | None]:
    """Split `NAME` or `NAME:START-END` (htsget style: 0-based start, exclusive end)."""
    match = _REGION.match(text)
    if match is None:
        raise ValueError(f"region {text!r} is not NAME or NAME:START-END, e.g. 11:5000000-5010000")
    name, start, end = match.groups()
    if start is None:
        return name, None, None
    if int(start) >= int(end):
        raise ValueError(f"region {text!r} has START >= END")
    return name, int(start), int(end)


def reads_path(object_id: str, region: str | None) -> str:
    """Return the `/reads/<id>` path with the query for `region` (the whole file if None)."""
    if region is None:
        return f"/reads/{object_id}"
    name, start, end = parse_region(region)
    params: dict[str, str | int] = {"referenceName": name}
    if start is not None and end is not None:
        params.update(start=start, end=end)
    return f"/reads/{object_id}?{urlencode(params)}"


def samtools_region(region: str) -> str:
    """Turn an htsget-style region into samtools' 1-based inclusive form."""
    name, start, end = parse_region(region)
    if start is None or end is None:
        return name
    return f"{name}:{start + 1}-{end}"


def median_microseconds(call: Callable[[], object], repeats: int) -> float:
    """Run `call` `repeats` times and return the median wall time of one call in µs."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def describe_machine() -> list[str]:
    """Return lines naming the CPUs, the Python, samtools and wrk versions and the load average."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [
        f"cpus: {os.cpu_count()} ({model})",
        f"python: {platform.python_version()}",
        f"samtools: {_first_line(['samtools', '--version'])}",
        f"wrk: {_first_line(['wrk', '--version']) if shutil.which('wrk') else 'not installed'}",
        "load average (1, 5, 15 min) before the run: "
        + ", ".join(f"{load:.2f}" for load in os.getloadavg()),
    ]


def _first_line(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "not installed"
    finished = subprocess.run(
        command, capture_output=True, text=True, errors="replace", timeout=10
    )
    output = (finished.stdout or finished.stderr).strip()
    return output.splitlines()[0] if output else "unknown"
