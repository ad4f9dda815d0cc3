"""Compare ingest throughput with a plain boto3 upload of the same file to a moto S3 server.

The script writes a file of random bytes and starts moto's S3 server on
127.0.0.1 in a subprocess with fake credentials. It then alternates two
uploads of the file, `--repeats` times each. The baseline is boto3's
`upload_file`. The other is `ingest_file`, which streams the file through
sha-256 and md5 into S3Storage.upload and registers it. It prints the median MiB/s of
each and the ratio ingest/baseline. The server is stopped before the
script exits.

Run: python -m benchmarks.ingest --help
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from adapters.storage.s3 import S3Storage, build_s3_client
from benchmarks.environment import describe_machine
from benchmarks.node import HOST, free_port
from service.drs.registry import DrsRegistry
from service.ingest import IngestOptions, ingest_file

TARGET_RATIO = 0.9
BUCKET = "consentry-ingest-bench"
MIB = 1 << 20


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--mib", type=int, default=256, help="file size in MiB")
    parser.add_argument("--repeats", type=int, default=3, help="uploads of each kind")
    return parser.parse_args(argv)


def start_moto(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start moto's S3 server on a free 127.0.0.1 port; return the process and its endpoint."""
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return process, endpoint
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"moto did not start within 30 s; see {log_path}")


def use_fake_credentials() -> None:
    """Point boto3 at fake credentials so it never looks for real ones."""
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    })


def measure(source: Path, endpoint: str, state_dir: Path, repeats: int) -> tuple[
    list[float], list[float]
]:
    """Return the seconds of each baseline upload and of each ingest, alternating the two."""
    client = build_s3_client("us-east-1", endpoint, path_style=True, read_timeout=120)
    client.create_bucket(Bucket=BUCKET)
    storage = S3Storage(BUCKET, "ingest", client=client)
    registry = DrsRegistry.in_state_dir(state_dir)
    baseline, ingest = [], []
    for run in range(repeats):
        started = time.perf_counter()
        client.upload_file(str(source), BUCKET, f"baseline/{run}/{source.name}")
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        ingest_file(source, IngestOptions(f"run{run}"), storage, registry)
        ingest.append(time.perf_counter() - started)
    return baseline, ingest


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_fake_credentials()
    with tempfile.TemporaryDirectory(prefix="consentry-ingest-bench-") as work:
        source = Path(work) / "random.bin"
        with source.open("wb") as handle:
            for _ in range(args.mib):
                handle.write(os.urandom(MIB))
        process, endpoint = start_moto(Path(work) / "moto.log")
        try:
            baseline, ingest = measure(source, endpoint, Path(work) / "state", args.repeats)
        finally:
            process.terminate()
            process.wait(timeout=10)
    baseline_rate = args.mib / statistics.median(baseline)
    ingest_rate = args.mib / statistics.median(ingest)
    ratio = ingest_rate / baseline_rate
    print("\n".join(describe_machine()))
    print(f"{args.mib} MiB file, {args.repeats} uploads of each kind, moto S3 on {HOST}")
    print(f"boto3 upload_file: {baseline_rate:.1f} MiB/s (runs: "
          f"{', '.join(f'{seconds:.2f}' for seconds in baseline)} s)")
    print(f"consentry ingest:  {ingest_rate:.1f} MiB/s (runs: "
          f"{', '.join(f'{seconds:.2f}' for seconds in ingest)} s)")
    met = ratio >= TARGET_RATIO
    print(f"ratio: {ratio:.2f}  target {TARGET_RATIO}: {'met' if met else 'missed'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
