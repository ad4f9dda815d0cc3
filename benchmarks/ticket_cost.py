"""Time Consentry's ticket building in-process, without HTTP, and profile where the time goes.

The htsget core is called directly, as the `/reads/{id}` handler calls it,
against local storage. A first call fills the header, index and block
caches, so the timed calls measure the steady state of a node under load.
A second, profiled run splits that time with cProfile.
"""

from __future__ import annotations

import base64
import cProfile
import pstats
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.environment import parse_region
from service.config import load_settings
from service.htsget.core import RequestContext
from service.htsget.query import Endpoint

with warnings.catch_warnings():
    # connexion 3.3 imports starlette.testclient, which warns that it wants httpx2.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from service.app import build_services

EDGE_ENCODER = ("adapters/formats/bgzf.py", "compress")


@dataclass(frozen=True)
class TicketCost:
    """Mean in-process cost of one warm ticket, and the share spent re-encoding edge blocks."""

    ticket_ms: float
    edge_encoding_share: float
    inline_bytes: int

    @property
    def without_edge_encoding_ms(self) -> float:
        """Estimated ticket time left after removing the edge-block re-encoding share."""
        return self.ticket_ms * (1 - self.edge_encoding_share)

    def summary(self) -> str:
        """Return one line with the numbers."""
        return (
            f"{self.ticket_ms:.3f} ms per ticket in-process, "
            f"{100 * self.edge_encoding_share:.0f}% of it in bgzf.compress (cProfile), "
            f"{self.inline_bytes:,} bytes of inline data per ticket"
        )


def ticket_cost(data_dir: Path, object_id: str, region: str, repeats: int = 300) -> TicketCost:
    """Build `repeats` tickets for `region` of `object_id` and return the mean cost."""
    name, start, end = parse_region(region)
    params: dict[str, Any] = {"referenceName": name, "start": start, "end": end}
    context = RequestContext("benchmark")
    with tempfile.TemporaryDirectory(prefix="consentry-bench-state-") as state_dir:
        settings = load_settings(
            None, port=0, state_dir=state_dir,
            storage={"backend": "local", "local_root": data_dir}, auth={"mode": "open"},
        )
        core = build_services(settings).htsget
        ticket = core.get(Endpoint.READS, object_id, params, context)

        started = time.perf_counter()
        for _ in range(repeats):
            core.get(Endpoint.READS, object_id, params, context)
        elapsed = time.perf_counter() - started

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeats):
            core.get(Endpoint.READS, object_id, params, context)
        profiler.disable()
    inline = sum(len(base64.b64decode(url["url"].split(",", 1)[1]))
                 for url in ticket["htsget"]["urls"] if url["url"].startswith("data:"))
    return TicketCost(elapsed / repeats * 1e3, _share_of(profiler, EDGE_ENCODER), inline)


def _share_of(profiler: cProfile.Profile, function: tuple[str, str]) -> float:
    """Return the cumulative time of `function` (path suffix, name) over the total profiled time."""
    stats = pstats.Stats(profiler)
    entries: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    suffix, name = function
    spent = sum(entry[3] for (path, _, func), entry in entries.items()
                if path.endswith(suffix) and func == name)
    total: float = stats.total_tt  # type: ignore[attr-defined]
    return spent / total if total else 0.0
