"""The hierarchical binning index shared by BAI, CSI and TBI, and its region query.

Bins form a tree of `depth + 1` levels. Level 0 is one bin covering
`1 << (min_shift + 3 * depth)` positions, and each bin splits into eight
children, down to leaves of `1 << min_shift` positions. Bins are numbered
level by level, so level `l` starts at `((1 << 3 * l) - 1) // 7` (SAM
specification v1, section "Indexing BAM"; CSI specification v1). BAI and
TBI fix min_shift 14 and depth 5.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Iterator
from operator import le

from adapters.formats.bgzf import VirtualOffset
from adapters.indexes._binary import ByteReader
from adapters.indexes.model import Chunk
from adapters.indexes.tabix import TabixMeta

BAI_MIN_SHIFT = 14
BAI_DEPTH = 5
MAX_CSI_DEPTH = 10
"""Deepest tree whose bin numbers, pseudo-bin included, fit the uint32 bin field."""

_BIN_HEADER = struct.Struct("<Ii")  # bin, n_chunk
_CSI_BIN_HEADER = struct.Struct("<IQi")  # bin, loffset, n_chunk
_CHUNK_SIZE = 16


def level_start(level: int) -> int:
    """Return the number of the first bin on `level` (0 is the root)."""
    return ((1 << (3 * level)) - 1) // 7


def bin_limit(depth: int) -> int:
    """Return the largest regular bin number of a tree of the given depth."""
    return level_start(depth + 1) - 1


def pseudo_bin(depth: int) -> int:
    """Return the bin number that contains per-reference metadata (37450 for BAI)."""
    return bin_limit(depth) + 2


def bin_ranges(start: int, end: int, min_shift: int, depth: int) -> Iterator[tuple[int, int]]:
    """Yield, per level from the root down, the first and last bin overlapping [start, end).

    The region must be non-empty and inside [0, 1 << (min_shift + 3 * depth)).
    """
    last = end - 1
    shift = min_shift + 3 * depth
    for level in range(depth + 1):
        offset = level_start(level)
        yield offset + (start >> shift), offset + (last >> shift)
        shift -= 3


def reg2bins(start: int, end: int, min_shift: int, depth: int) -> list[int]:
    """Return every bin that may contain records overlapping the 0-based region [start, end)."""
    max_position = 1 << (min_shift + 3 * depth)
    start, end = max(start, 0), min(end, max_position)
    if start >= end:
        return []
    bins: list[int] = []
    for first, last in bin_ranges(start, end, min_shift, depth):
        bins.extend(range(first, last + 1))
    return bins


_NO_LIMIT = 1 << 64

class ReferenceBins:
    """Bins, chunks and lower offset bounds of one reference sequence.

    Chunks are stored flat as integer virtual offsets (begin, end, begin, end, ...)
    per bin, because building objects for every chunk of a whole-genome index
    costs more than the queries that use a few of them.
    """

    __slots__ = ("chunks", "linear", "loffsets", "metadata", "sorted_bins")

    def __init__(
        self,
        chunks: dict[int, tuple[int, ...]],
        linear: tuple[int, ...] = (),
        loffsets: dict[int, int] | None = None,
        metadata: tuple[int, int, int, int] | None = None,
    ) -> None:
        self.chunks = chunks
        self.linear = linear
        self.loffsets = loffsets or {}
        self.metadata = metadata
        """Pseudo-bin 37450 (BAI): begin and end virtual offsets, then mapped and unmapped counts.

        The SAM specification calls the offsets unmapped_beg and unmapped_end, but
        htslib 1.16 writes the span of all the reference's reads there.
        """
        self.sorted_bins = tuple(sorted(chunks))


class BinningIndex:
    """A parsed BAI, CSI or TBI index."""

    def __init__(
        self,
        kind: str,
        min_shift: int,
        depth: int,
        references: list[ReferenceBins],
        unmapped: int | None = None,
        tabix_meta: TabixMeta | None = None,
    ) -> None:
        self.kind = kind
        self.min_shift = min_shift
        self.depth = depth
        self.tabix_meta = tabix_meta
        self.reference_names: tuple[str, ...] | None = tabix_meta.names if tabix_meta else None
        self.n_references = len(references)
        self.max_position = 1 << (min_shift + 3 * depth)
        self._references = references
        self._unmapped = unmapped
        self._extent: tuple[int, int] | None = None

    def query(self, ref_id: int, start: int, end: int) -> list[Chunk]:
        """Return the merged chunks that may contain records overlapping 0-based [start, end)."""
        if not 0 <= ref_id < self.n_references:
            return []
        start, end = max(start, 0), min(end, self.max_position)
        if start >= end:
            return []
        reference = self._references[ref_id]
        min_offset = self._min_offset(reference, start)
        max_offset = self._max_offset(reference, end)
        found: list[tuple[int, int]] = []
        bins = reference.sorted_bins
        for first, last in bin_ranges(start, end, self.min_shift, self.depth):
            i = bisect_left(bins, first)
            while i < len(bins) and bins[i] <= last:
                flat = reference.chunks[bins[i]]
                found.extend(
                    (flat[j], min(flat[j + 1], max_offset))
                    for j in range(0, len(flat), 2)
                    if flat[j + 1] > min_offset and flat[j] < max_offset
                )
                i += 1
        return _merge(found)

    def max_end(self) -> VirtualOffset | None:
        """Return the largest chunk end, pseudo-bin metadata included; None without chunks."""
        extent = self._chunk_extent()
        return None if extent is None else VirtualOffset.from_int(extent[1])

    def first_begin(self) -> VirtualOffset | None:
        """Return the smallest chunk begin, which is where the first record starts."""
        extent = self._chunk_extent()
        return None if extent is None else VirtualOffset.from_int(extent[0])

    def unmapped_count(self) -> int | None:
        """Return the count of reads without coordinates, when the index stores it."""
        return self._unmapped

    def _min_offset(self, reference: ReferenceBins, start: int) -> int:
        """Return a virtual offset before which no record overlapping `start` can begin."""
        if reference.linear:
            window = start >> self.min_shift
            return reference.linear[min(window, len(reference.linear) - 1)]
        # CSI has no linear index. The loffset of the deepest stored bin that
        # contains `start` is a lower bound, because ancestors start further left.
        for level in range(self.depth, -1, -1):
            shift = self.min_shift + 3 * (self.depth - level)
            loffset = reference.loffsets.get(level_start(level) + (start >> shift))
            if loffset is not None:
                return loffset
        return 0

    def _max_offset(self, reference: ReferenceBins, end: int) -> int:
        """Return a virtual offset at or after which every record starts at or after `end`.

        It is the first chunk of the nearest stored bin to the right of
        `end`: every record in such a bin starts at or after `end`, so in a
        coordinate-sorted file it comes after every record that overlaps the
        region. htslib's iterator bounds its chunks the same way.
        """
        bin_number = level_start(self.depth) + ((end - 1) >> self.min_shift) + 1
        if bin_number >= level_start(self.depth + 1):
            bin_number = 0
        while True:
            # Moving right from a last child lands on the next parent's first
            # child; step up to that parent instead, whose range lies further right.
            while bin_number % 8 == 1:
                bin_number = (bin_number - 1) >> 3
            if bin_number == 0:
                return _NO_LIMIT
            flat = reference.chunks.get(bin_number)
            if flat:
                return min(flat[0::2])
            bin_number += 1

    def _chunk_extent(self) -> tuple[int, int] | None:
        if self._extent is None:
            begins: list[int] = []
            ends: list[int] = []
            for reference in self._references:
                for flat in reference.chunks.values():
                    if flat:
                        begins.append(min(flat[0::2]))
                        ends.append(max(flat[1::2]))
                if reference.metadata is not None:
                    begins.append(reference.metadata[0])
                    ends.append(reference.metadata[1])
            if ends:
                self._extent = (min(begins), max(ends))
        return self._extent


def _merge(pairs: list[tuple[int, int]]) -> list[Chunk]:
    """Sort chunks by begin and join those that overlap or touch."""
    pairs.sort()
    merged: list[tuple[int, int]] = []
    for begin, end in pairs:
        if merged and begin <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    return [Chunk(VirtualOffset.from_int(b), VirtualOffset.from_int(e)) for b, e in merged]


def read_references(
    reader: ByteReader, count: int, depth: int, *, csi: bool
) -> list[ReferenceBins]:
    """Read `count` reference sections: bins with chunks, then (BAI/TBI only) the linear index."""
    references = []
    for ref_id in range(count):
        chunks, loffsets, metadata = _read_bins(reader, ref_id, depth, csi)
        linear: tuple[int, ...] = ()
        if not csi:
            n_intv = reader.count(f"linear index size of reference {ref_id}", 8)
            linear = reader.uint64_array(n_intv, f"linear index of reference {ref_id}")
        references.append(ReferenceBins(chunks, linear, loffsets, metadata))
    return references


def _read_bins(
    reader: ByteReader, ref_id: int, depth: int, csi: bool
) -> tuple[dict[int, tuple[int, ...]], dict[int, int], tuple[int, int, int, int] | None]:
    header = _CSI_BIN_HEADER if csi else _BIN_HEADER
    n_bin = reader.count(f"bin count of reference {ref_id}", header.size)
    data, pos, size = reader.data, reader.pos, len(reader.data)
    limit, meta_bin = bin_limit(depth), pseudo_bin(depth)
    chunks: dict[int, tuple[int, ...]] = {}
    loffsets: dict[int, int] = {}
    metadata = None
    for _ in range(n_bin):
        if size - pos < header.size:
            raise reader.error(f"truncated bin header in reference {ref_id}", pos)
        fields = header.unpack_from(data, pos)
        bin_id, n_chunk = fields[0], fields[-1]
        pos += header.size
        if n_chunk < 0 or n_chunk * _CHUNK_SIZE > size - pos:
            raise reader.error(f"bin {bin_id} of reference {ref_id} has {n_chunk} chunks", pos)
        flat = struct.unpack_from(f"<{2 * n_chunk}Q", data, pos)
        pos += n_chunk * _CHUNK_SIZE
        if bin_id == meta_bin and metadata is None and n_chunk == 2:
            metadata = (flat[0], flat[1], flat[2], flat[3])
            continue
        if bin_id > limit or bin_id in chunks:
            raise reader.error(f"invalid or repeated bin {bin_id} in reference {ref_id}", pos)
        if not all(map(le, flat[0::2], flat[1::2])):
            raise reader.error(f"a chunk of bin {bin_id} ends before it begins", pos)
        chunks[bin_id] = flat
        if csi:
            loffsets[bin_id] = fields[1]
    reader.pos = pos
    return chunks, loffsets, metadata


def read_unmapped_count(reader: ByteReader) -> int | None:
    """Read the optional trailing n_no_coor and check that nothing else follows."""
    if reader.remaining == 0:
        return None
    count = reader.uint64("count of reads without coordinates")
    if reader.remaining:
        raise reader.error(f"{reader.remaining} unexpected bytes after the last reference")
    return count
