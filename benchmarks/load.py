"""Closed-loop HTTP load against one URL on 127.0.0.1: wrk when installed, else an asyncio client.

Both clients keep `connections` keep-alive connections busy for a fixed
time and report the request rate, the median and 99th-percentile latency
and every response whose status is not 200.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class LoadResult:
    """Results of one load run, with latencies in milliseconds."""

    client: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_200: int
    socket_errors: int

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """Return one line with every number of the run."""
        return (
            f"{self.rate:9.0f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms  "
            f"{self.requests} requests in {self.seconds:.1f} s  "
            f"non-200 {self.non_200}  socket errors {self.socket_errors}  ({self.client})"
        )


def run_load(url: str, seconds: float, connections: int, threads: int = 1) -> LoadResult:
    """Load `url` for `seconds`. `threads` applies only to wrk."""
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise ValueError(f"benchmarks only load 127.0.0.1, not {host!r}")
    if shutil.which("wrk"):
        return run_wrk(url, seconds, connections, threads)
    return asyncio.run(run_asyncio(url, seconds, connections))


def run_wrk(url: str, seconds: float, connections: int, threads: int) -> LoadResult:
    """Run wrk with the reporting script and parse its result line."""
    command = [
        "wrk", f"--threads={threads}", f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s", "--timeout=10s", f"--script={WRK_SCRIPT}", url,
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed with code {finished.returncode}: {finished.stderr.strip()}")
    for line in finished.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            found = json.loads(line.removeprefix("WRK_RESULT "))
            return LoadResult(
                "wrk", found["requests"], found["duration_us"] / 1e6,
                found["p50_us"] / 1e3, found["p99_us"] / 1e3,
                found["non_200"], found["socket_errors"],
            )
    raise RuntimeError(f"wrk printed no WRK_RESULT line; its output was:\n{finished.stdout}")


async def run_asyncio(url: str, seconds: float, connections: int) -> LoadResult:
    """Load `url` with `connections` asyncio keep-alive connections (used when wrk is missing)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(
        _connection_loop(parts.hostname or "", parts.port or 80, request, deadline,
                         latencies, statuses)
        for _ in range(connections)
    ))
    elapsed = time.perf_counter() - started
    cut_points = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return LoadResult(
        "asyncio", len(latencies), elapsed, cut_points[49] * 1e3, cut_points[98] * 1e3,
        sum(status != 200 for status in statuses), 0,
    )


async def _connection_loop(
    host: str, port: int, request: bytes, deadline: float,
    latencies: list[float], statuses: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            writer.write(request)
            await writer.drain()
            statuses.append(await _read_response(reader))
            latencies.append(time.perf_counter() - sent)
    finally:
        writer.close()
        await writer.wait_closed()


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response with a Content-Length body and return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    lengths = [value for name, value in headers.items() if name.strip().lower() == "content-length"]
    if not lengths:
        raise RuntimeError(f"a response with status {status} had no Content-Length header")
    await reader.readexactly(int(lengths[0]))
    return status
