"""Writers for BAI and TBI indexes, which share the UCSC binning scheme.

Both index a sorted BGZF file one reference at a time. Each reference gets
a tree of bins from 16 kb to 512 Mb wide (each bin split into 8 below it),
a list of chunks per bin, and a linear index with the offset of the first
record overlapping each 16 kb window. The
layout follows the SAM/BAM format specification (SAMv1) and the tabix
format in the htslib documentation.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters.formats.bgzf import BGZF_EOF, VirtualOffset, compress

MIN_SHIFT = 14
"""log2 of the smallest bin and of the linear index window (16 kb)."""

DEPTH = 5
"""Levels of the bin tree below the root."""

MAX_POSITION = 1 << (MIN_SHIFT + 3 * DEPTH)
"""Largest reference length a BAI or TBI index can describe (2**29)."""

PSEUDO_BIN = 37450
"""Bin number htslib uses to store per-reference offsets and record counts."""

UNPLACED_BIN = 4680
"""The bin of a record with no position: `reg2bin(-1, 0)`."""


def reg2bin(begin: int, end: int) -> int:
    """Return the smallest bin that contains the 0-based interval `[begin, end)`."""
    last = end - 1
    for level in range(DEPTH, 0, -1):
        shift = MIN_SHIFT + 3 * (DEPTH - level)
        if begin >> shift == last >> shift:
            # Bins are numbered level by level: 1 root, then 8, 64, 512, 4096 bins.
            first_bin_of_level = ((1 << (3 * level)) - 1) // 7
            return first_bin_of_level + (begin >> shift)
    return 0


@dataclass
class _ReferenceIndex:
    """Bins, linear index and statistics collected for one reference."""

    bins: dict[int, list[list[int]]] = field(default_factory=dict)
    last_serial: dict[int, int] = field(default_factory=dict)
    windows: list[int | None] = field(default_factory=list)
    first_offset: int | None = None
    last_offset: int = 0
    mapped: int = 0
    unmapped: int = 0


class BinningIndex:
    """Collects records of a sorted BGZF file and serialises them as BAI or TBI."""

    def __init__(self, reference_count: int) -> None:
        self._references = [_ReferenceIndex() for _ in range(reference_count)]
        self._serial = 0
        self.unplaced = 0

    def add(
        self,
        reference_id: int,
        begin: int,
        end: int,
        offsets: tuple[VirtualOffset, VirtualOffset],
        mapped: bool = True,
    ) -> None:
        """Add a record that covers `[begin, end)` and is stored between the two virtual offsets."""
        reference = self._references[reference_id]
        start, stop = int(offsets[0]), int(offsets[1])
        bin_number = reg2bin(begin, end)

        chunks = reference.bins.setdefault(bin_number, [])
        if chunks and reference.last_serial[bin_number] == self._serial - 1:
            chunks[-1][1] = stop
        else:
            chunks.append([start, stop])
        reference.last_serial[bin_number] = self._serial
        self._serial += 1

        last_window = (end - 1) >> MIN_SHIFT
        if len(reference.windows) <= last_window:
            reference.windows.extend([None] * (last_window + 1 - len(reference.windows)))
        for window in range(begin >> MIN_SHIFT, last_window + 1):
            if reference.windows[window] is None:
                reference.windows[window] = start

        if reference.first_offset is None:
            reference.first_offset = start
        reference.last_offset = stop
        if mapped:
            reference.mapped += 1
        else:
            reference.unmapped += 1

    def bai(self) -> bytes:
        """Return the BAI file for the records added so far."""
        parts = [b"BAI\x01", struct.pack("<i", len(self._references))]
        parts.extend(_serialise_reference(reference) for reference in self._references)
        parts.append(struct.pack("<Q", self.unplaced))
        return b"".join(parts)

    def tbi(self, names: Sequence[str]) -> bytes:
        """Return the BGZF-compressed TBI file of a VCF whose references are `names`."""
        if len(names) != len(self._references):
            raise ValueError(
                f"got {len(names)} reference names for an index of "
                f"{len(self._references)} references; pass one name per reference"
            )
        name_block = b"".join(name.encode() + b"\0" for name in names)
        # Tabix preset for VCF: format 2, sequence in column 1, begin in column 2,
        # no end column, '#' starts header lines, no lines to skip.
        parts = [
            b"TBI\x01",
            struct.pack("<8i", len(names), 2, 1, 2, 0, ord("#"), 0, len(name_block)),
            name_block,
        ]
        parts.extend(_serialise_reference(reference) for reference in self._references)
        parts.append(struct.pack("<Q", self.unplaced))
        return compress(b"".join(parts)) + BGZF_EOF


def _serialise_reference(reference: _ReferenceIndex) -> bytes:
    """Encode one reference's bins, pseudo-bin and linear index."""
    if reference.first_offset is None:
        return struct.pack("<ii", 0, 0)
    parts = [struct.pack("<i", len(reference.bins) + 1)]
    for bin_number, chunks in sorted(reference.bins.items()):
        parts.append(struct.pack("<Ii", bin_number, len(chunks)))
        parts.extend(struct.pack("<QQ", start, stop) for start, stop in chunks)
    parts.append(struct.pack("<Ii", PSEUDO_BIN, 2))
    parts.append(struct.pack("<QQ", reference.first_offset, reference.last_offset))
    parts.append(struct.pack("<QQ", reference.mapped, reference.unmapped))

    windows = _filled_windows(reference.windows, reference.first_offset)
    parts.append(struct.pack("<i", len(windows)))
    parts.append(struct.pack(f"<{len(windows)}Q", *windows))
    return b"".join(parts)


def _filled_windows(windows: list[int | None], first_offset: int) -> list[int]:
    """Fill windows no record overlaps with the previous window's offset.

    Leading empty windows take the reference's first record offset. Both
    choices are offsets at or before every record that overlaps the window.
    """
    filled: list[int] = []
    previous = first_offset
    for offset in windows:
        previous = previous if offset is None else offset
        filled.append(previous)
    return filled


def check_references(references: Sequence[tuple[str, int]]) -> None:
    """Raise ValueError unless every reference has a usable name and an indexable length."""
    seen: set[str] = set()
    for name, length in references:
        if not name or any(char.isspace() for char in name) or not name.isascii():
            raise ValueError(f"invalid reference name {name!r}: use ASCII without whitespace")
        if name in seen:
            raise ValueError(f"reference name {name!r} appears twice")
        seen.add(name)
        if not 1 <= length < MAX_POSITION:
            raise ValueError(
                f"reference {name!r} has length {length}; BAI and TBI indexes "
                f"need a length from 1 to {MAX_POSITION - 1}"
            )
