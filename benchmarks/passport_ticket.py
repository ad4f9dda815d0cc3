"""Measure what a cached passport check adds to an htsget ticket request over HTTP.

Two Consentry nodes run side by side on 127.0.0.1 in subprocesses, serving the
same copy of the shared NA12878 BAM. One has `auth.mode: open`. The other has
`auth.mode: passport` and maps the BAM to a dataset in `auth.datasets`, and
every request carries a bearer passport from that node's embedded broker
that grants the dataset. The dataset is not registered on the consent chain,
so neither node writes an access decision, and the difference between them
is the passport path: the cache lookup and the visa-to-dataset match.

wrk loads the same ticket URL on each node in turn, for `--rounds` rounds,
with each number of `--connections`. With one connection the latency is the
service time of a request. With more, requests queue on the server, so a
difference in service time shows up multiplied in p50. The script prints
p50/p99 latency and requests per second for every run, then the medians over
the rounds and the p50 the passport adds. Before the HTTP runs it builds
the same two nodes in-process and times the ticket call alone, without
HTTP, which is steadier than HTTP latency on a busy machine.

Run: python -m benchmarks.passport_ticket --help
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.environment import (
    SHARED_BAM_ID,
    copy_shared_bam,
    describe_machine,
    parse_region,
    reads_path,
)
from benchmarks.load import WRK_SCRIPT, LoadResult
from benchmarks.node import HOST, READY_PATH, REPO_ROOT, Node, free_port, node_command
from service.auth.broker import BrokerSubject
from service.auth.node import NodeBroker
from service.config import load_settings
from service.htsget.core import RequestContext
from service.htsget.query import Endpoint

with warnings.catch_warnings():
    # connexion 3.3 imports starlette.testclient, which warns that it wants httpx2.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from service.app import build_services

BEARER_SCRIPT = Path(__file__).with_name("wrk_bearer.lua")
DATASET_URL = "https://data.example.org/datasets/na12878"
DEFAULT_REGION = "11:5000000-5010000"
TARGET_ADDED_P50_MS = 1.0
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.passport_ticket", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--region", default=DEFAULT_REGION,
                        help="region to request, NAME:START-END with a 0-based START")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before each run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per node, alternating nodes")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8],
                        help="concurrent wrk connections, one set of runs for each")
    parser.add_argument("--in-process-tickets", type=int, default=3000,
                        help="timed ticket calls per in-process node, without HTTP")
    return parser.parse_args(argv)


@contextmanager
def running_node(data_dir: Path, state_dir: Path, mode: str) -> Iterator[Node]:
    """Serve `data_dir` with `auth.mode` set to `mode` until the block ends."""
    port = free_port()
    datasets = [{"id_prefix": SHARED_BAM_ID, "url": DATASET_URL}]
    env = {
        **os.environ,
        "CONSENTRY_PORT": str(port),
        "CONSENTRY_HOST": HOST,
        "CONSENTRY_STATE_DIR": str(state_dir),
        "CONSENTRY_STORAGE__BACKEND": "local",
        "CONSENTRY_STORAGE__LOCAL_ROOT": str(data_dir),
        "CONSENTRY_LOG_LEVEL": "WARNING",
        "CONSENTRY_AUTH__MODE": mode,
        "CONSENTRY_AUTH__DATASETS": json.dumps(datasets),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    log_path = state_dir / "node.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(node_command(port, 1), cwd=REPO_ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://{HOST}:{port}"
        _wait_until_ready(url, process, log_path)
        yield Node(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the node exited with code {process.returncode}; "
                               f"its output is in {log_path}")
        try:
            with urllib.request.urlopen(url + READY_PATH, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"the node at {url} was not ready within {START_TIMEOUT_SECONDS:.0f} s; "
                       f"its output is in {log_path}")


def issue_passport(node: Node, state_dir: Path) -> str:
    """Sign a one-hour passport granting DATASET_URL with the node's own broker keys."""
    broker = NodeBroker(node.url, state_dir / "broker", 3600, 3600)
    return broker.issue_passport(BrokerSubject("benchmark-user", grants=(DATASET_URL,)), 3600)


def ticket_status(url: str, bearer: str | None) -> int:
    """Return the HTTP status of one ticket request, with `bearer` when given."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def run_wrk(url: str, seconds: int, connections: int, bearer: str | None) -> LoadResult:
    """Load `url` with wrk (one thread), sending `bearer` in every request when given."""
    env = {**os.environ, "CONSENTRY_BENCH_BEARER": bearer or "",
           "CONSENTRY_BENCH_REPORT_LUA": str(WRK_SCRIPT)}
    command = ["wrk", "--threads=1", f"--connections={connections}", f"--duration={seconds}s",
               "--timeout=10s", f"--script={BEARER_SCRIPT}", url]
    finished = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=seconds + 60)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed with code {finished.returncode}: {finished.stderr.strip()}")
    for line in finished.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            found = json.loads(line.removeprefix("WRK_RESULT "))
            return LoadResult("wrk", found["requests"], found["duration_us"] / 1e6,
                              found["p50_us"] / 1e3, found["p99_us"] / 1e3,
                              found["non_200"], found["socket_errors"])
    raise RuntimeError(f"wrk printed no WRK_RESULT line; its output was:\n{finished.stdout}")


def measure_rounds(targets: dict[str, tuple[str, str | None]], connections: int,
                   args: argparse.Namespace) -> dict[str, list[LoadResult]]:
    """Load each target in turn for `args.rounds` rounds; return the runs by target name."""
    results: dict[str, list[LoadResult]] = {name: [] for name in targets}
    for round_number in range(1, args.rounds + 1):
        for name, (url, bearer) in targets.items():
            run_wrk(url, args.warmup, connections, bearer)
            result = run_wrk(url, args.seconds, connections, bearer)
            results[name].append(result)
            print(f"{connections} conn round {round_number} {name:8} {result.summary()}",
                  flush=True)
    return results


def report(results: dict[str, list[LoadResult]], connections: int) -> bool:
    """Print the medians and the added latency; return whether the target was met."""
    medians = {}
    for name, runs in results.items():
        p50 = statistics.median(run.p50_ms for run in runs)
        p99 = statistics.median(run.p99_ms for run in runs)
        rate = statistics.median(run.rate for run in runs)
        medians[name] = (p50, p99)
        print(f"{connections} conn median {name:8} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
              f"{rate:6.0f} req/s")
    added_p50 = medians["passport"][0] - medians["open"][0]
    added_p99 = medians["passport"][1] - medians["open"][1]
    ratio = medians["passport"][0] / medians["open"][0]
    print(f"{connections} conn added by the passport: p50 {added_p50:+.2f} ms, "
          f"p99 {added_p99:+.2f} ms; passport p50 / open p50 {ratio:.2f}")
    return added_p50 <= TARGET_ADDED_P50_MS


def in_process_ticket_us(data_dir: Path, state_dir: Path, mode: str, region: str,
                         repeats: int) -> float:
    """Return the median time in µs of one ticket call on an in-process node in `mode`."""
    settings = load_settings(
        None, state_dir=state_dir, storage={"backend": "local", "local_root": data_dir},
        auth={"mode": mode, "datasets": [{"id_prefix": SHARED_BAM_ID, "url": DATASET_URL}]},
    )
    services = build_services(settings)
    authorization = None
    if mode == "passport":
        broker = NodeBroker.from_settings(settings)
        passport = broker.issue_passport(BrokerSubject("benchmark-user", grants=(DATASET_URL,)),
                                         3600)
        authorization = f"Bearer {passport}"
    name, start, end = parse_region(region)
    params: dict[str, str | int] = {"referenceName": name}
    if start is not None and end is not None:
        params.update(start=start, end=end)
    context = RequestContext("bench", authorization)
    services.htsget.get(Endpoint.READS, SHARED_BAM_ID, params, context)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        services.htsget.get(Endpoint.READS, SHARED_BAM_ID, params, context)
        samples.append(time.perf_counter() - started)
    if services.consent is not None:
        services.consent.close()
    return statistics.median(samples) * 1e6


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for line in describe_machine():
        print(line)
    with tempfile.TemporaryDirectory(prefix="consentry-passport-bench-") as temp:
        data_dir = Path(temp, "data")
        data_dir.mkdir()
        copy_shared_bam(data_dir)
        open_state, passport_state = Path(temp, "state-open"), Path(temp, "state-passport")
        open_state.mkdir()
        passport_state.mkdir()
        costs = {mode: in_process_ticket_us(data_dir, Path(temp, f"in-process-{mode}"), mode,
                                            args.region, args.in_process_tickets)
                 for mode in ("open", "passport")}
        print(f"in-process ticket call, median of {args.in_process_tickets}: open "
              f"{costs['open']:.0f} µs, passport {costs['passport']:.0f} µs, added "
              f"{costs['passport'] - costs['open']:+.0f} µs")
        path = reads_path(SHARED_BAM_ID, args.region)
        with running_node(data_dir, open_state, "open") as open_node, \
                running_node(data_dir, passport_state, "passport") as passport_node:
            passport = issue_passport(passport_node, passport_state)
            print(f"passport: {len(passport)} bytes, 1 ControlledAccessGrants visa")
            print(f"passport node without a bearer: HTTP "
                  f"{ticket_status(passport_node.url + path, None)}; with it: HTTP "
                  f"{ticket_status(passport_node.url + path, passport)}")
            targets = {"open": (open_node.url + path, None),
                       "passport": (passport_node.url + path, passport)}
            verdicts, failures = [], 0
            for connections in args.connections:
                results = measure_rounds(targets, connections, args)
                verdicts.append(report(results, connections))
                failures += sum(run.non_200 + run.socket_errors
                                for runs in results.values() for run in runs)
    for connections, met in zip(args.connections, verdicts, strict=True):
        print(f"target at most {TARGET_ADDED_P50_MS} ms added p50 with {connections} "
              f"connection(s): {'met' if met else 'missed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
