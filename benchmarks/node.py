"""Start and stop a Consentry node in a subprocess for a benchmark, on 127.0.0.1 only.

The node runs under the uvicorn command line with `app_from_environment`
as its factory, so it is the same ASGI app `consentry serve` builds, and
several worker processes are possible. Settings reach the factory through
the `CONSENTRY_*` environment variables that `service.config` reads.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
READY_PATH = "/reads/service-info"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


def app_from_environment() -> ASGIApp:
    """Build the Consentry app from `CONSENTRY_*` environment variables (a uvicorn factory)."""
    from service.app import create_app
    from service.config import load_settings

    return create_app(load_settings(None))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Node:
    """A running node: its base URL and the id of the process that serves it."""

    url: str
    pid: int


def node_command(port: int, workers: int, profile_to: Path | None = None) -> list[str]:
    """Return the command that serves the app on `port` with `workers` processes.

    With `profile_to`, the single server process runs under cProfile and
    writes its statistics there when it stops.
    """
    uvicorn_args = [
        "--factory", "benchmarks.node:app_from_environment",
        "--host", HOST, "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--lifespan", "off",
    ]
    if profile_to is not None:
        if workers != 1:
            raise ValueError(f"profiling needs a single worker, not {workers}")
        return [sys.executable, "-m", "cProfile", "-o", str(profile_to),
                "-m", "uvicorn", *uvicorn_args]
    return [sys.executable, "-m", "uvicorn", *uvicorn_args, "--workers", str(workers)]


@contextmanager
def running_node(
    data_dir: Path,
    state_dir: Path,
    workers: int = 1,
    cpus: Sequence[int] | None = None,
    profile_to: Path | None = None,
) -> Iterator[Node]:
    """Serve `data_dir` from local storage until the block ends, then stop the node.

    `cpus` pins the server processes to those CPU numbers (Linux only), so a
    load client on the other CPUs does not compete with it.
    """
    port = free_port()
    env = {
        **os.environ,
        "CONSENTRY_PORT": str(port),
        "CONSENTRY_HOST": HOST,
        "CONSENTRY_STATE_DIR": str(state_dir),
        "CONSENTRY_STORAGE__BACKEND": "local",
        "CONSENTRY_STORAGE__LOCAL_ROOT": str(data_dir),
        "CONSENTRY_LOG_LEVEL": "WARNING",
        # The htsget benchmarks measure tickets; passports have their own benchmark.
        "CONSENTRY_AUTH__MODE": "open",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    log_path = state_dir / "node.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            node_command(port, workers, profile_to),
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
    try:
        url = f"http://{HOST}:{port}"
        _wait_until_ready(url, process, log_path)
        yield Node(url, process.pid)
    finally:
        _stop(process)


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the node exited with code {process.returncode} before it was ready; "
                f"its output is in {log_path}"
            )
        try:
            with urllib.request.urlopen(url + READY_PATH, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(
        f"the node at {url} did not answer {READY_PATH} within {START_TIMEOUT_SECONDS:.0f} s; "
        f"its output is in {log_path}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Send SIGINT to the node's process group (uvicorn and its workers), then SIGKILL if needed."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
