"""The pieces a ticket is made of: byte ranges of the stored file and inline blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PartClass = Literal["header", "body"]


@dataclass(frozen=True)
class ByteRange:
    """Bytes `[start, end)` of the stored data file."""

    start: int
    end: int
    cls: PartClass = "body"


@dataclass(frozen=True)
class Inline:
    """Bytes that are sent inline as a `data:` URI (re-encoded partial blocks, EOF markers)."""

    data: bytes
    cls: PartClass = "body"


Part = ByteRange | Inline


def merge_parts(parts: list[Part], max_range: int) -> list[Part]:
    """Join adjacent byte ranges and adjacent inline blocks of the same class.

    Ranges longer than `max_range` are split, so no single URL asks for more
    than that many bytes.
    """
    merged: list[Part] = []
    for part in parts:
        last = merged[-1] if merged else None
        if isinstance(part, ByteRange) and part.end <= part.start:
            continue
        if isinstance(part, Inline) and not part.data:
            continue
        if (
            isinstance(last, ByteRange)
            and isinstance(part, ByteRange)
            and last.cls == part.cls
            and part.start <= last.end
        ):
            merged[-1] = ByteRange(last.start, max(last.end, part.end), last.cls)
        elif isinstance(last, Inline) and isinstance(part, Inline) and last.cls == part.cls:
            merged[-1] = Inline(last.data + part.data, last.cls)
        else:
            merged.append(part)
    return [piece for part in merged for piece in _split(part, max_range)]


def _split(part: Part, max_range: int) -> list[Part]:
    if not isinstance(part, ByteRange) or part.end - part.start <= max_range:
        return [part]
    return [
        ByteRange(start, min(start + max_range, part.end), part.cls)
        for start in range(part.start, part.end, max_range)
    ]
