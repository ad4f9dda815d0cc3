"""Types shared by the index readers."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.formats.bgzf import VirtualOffset


@dataclass(frozen=True, order=True)
class Chunk:
    """Records between two virtual offsets of a BGZF file, `end` exclusive."""

    begin: VirtualOffset
    end: VirtualOffset
