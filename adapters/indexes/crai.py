"""CRAI: the index of a CRAM file, a gzip-compressed table with one line per slice.

Each line contains six tab-separated integers. They are the reference id (-1
for unplaced unmapped reads), the 1-based alignment start and the alignment
span. Then follow the byte offset of the container in the file, the byte
offset of the slice within the container's data, and the slice size in bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from adapters.errors import FormatError
from adapters.formats.bgzf import decompress_all

UNPLACED_REF_ID = -1
_COLUMNS = 6


@dataclass(frozen=True)
class CraiEntry:
    """One slice of a CRAM file; `start` is 1-based, as the file stores it."""

    ref_id: int
    start: int
    span: int
    container_offset: int
    slice_offset: int
    slice_size: int

    def overlaps(self, start: int, end: int) -> bool:
        """Return whether this slice covers any 0-based position in [start, end)."""
        first = self.start - 1
        # A zero span still counts as one position, so such a slice is never skipped.
        return first < end and first + max(self.span, 1) > start


class CraiIndex:
    """A parsed CRAI index."""

    def __init__(self, entries: tuple[CraiEntry, ...]) -> None:
        self.entries = entries

    def query(self, ref_id: int, start: int, end: int) -> list[int]:
        """Return the sorted distinct offsets of containers with slices overlapping [start, end).

        The region is 0-based and half-open.
        """
        if ref_id < 0 or start >= end:
            return []
        return _distinct_offsets(
            e for e in self.entries if e.ref_id == ref_id and e.overlaps(start, end)
        )

    def unplaced_offsets(self) -> list[int]:
        """Return the offsets of containers with unplaced unmapped reads (reference id -1)."""
        return _distinct_offsets(e for e in self.entries if e.ref_id == UNPLACED_REF_ID)

    def container_offsets(self) -> list[int]:
        """Return the offsets of all indexed containers, sorted and distinct."""
        return _distinct_offsets(self.entries)


def _distinct_offsets(entries: Iterable[CraiEntry]) -> list[int]:
    return sorted({entry.container_offset for entry in entries})


def parse_crai(data: bytes) -> CraiIndex:
    """Parse the raw (gzip-compressed) bytes of a .crai file; raise FormatError if invalid."""
    if not data:
        raise FormatError("invalid CRAI index: the file is empty; re-create it with samtools index")
    try:
        text = decompress_all(data).decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"invalid CRAI index: byte {exc.start} of the decompressed text is not ASCII; "
            "re-create it with samtools index"
        ) from exc
    entries = [
        _parse_line(line, number)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    return CraiIndex(tuple(entries))


def _parse_line(line: str, number: int) -> CraiEntry:
    fields = line.split("\t")
    if len(fields) != _COLUMNS:
        raise _line_error(number, f"has {len(fields)} tab-separated fields, expected {_COLUMNS}")
    try:
        values = [int(field) for field in fields]
    except ValueError as exc:
        raise _line_error(number, f"has a field that is not an integer: {line!r}") from exc
    entry = CraiEntry(*values)
    if entry.ref_id < UNPLACED_REF_ID:
        raise _line_error(number, f"has reference id {entry.ref_id} (expected -1 or more)")
    if min(values[1:]) < 0:
        raise _line_error(number, f"has a negative position, span, offset or size: {line!r}")
    return entry


def _line_error(number: int, problem: str) -> FormatError:
    return FormatError(
        f"invalid CRAI index: line {number} {problem}; re-create it with samtools index"
    )
