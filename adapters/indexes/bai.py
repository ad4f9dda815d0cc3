"""BAI: the binning index of a coordinate-sorted BAM file (SAM specification v1)."""

from __future__ import annotations

from adapters.indexes._binary import ByteReader
from adapters.indexes.binning import (
    BAI_DEPTH,
    BAI_MIN_SHIFT,
    BinningIndex,
    read_references,
    read_unmapped_count,
)

BAI_MAGIC = b"BAI\x01"


def parse_bai(data: bytes) -> BinningIndex:
    """Parse the raw bytes of a .bai file; raise FormatError if they are not a valid BAI."""
    reader = ByteReader(data, "BAI")
    if reader.take(4, "magic") != BAI_MAGIC:
        raise reader.error("magic is not BAI\\1, so this is not a BAI file", 0)
    n_ref = reader.count("reference count", 8)
    references = read_references(reader, n_ref, BAI_DEPTH, csi=False)
    unmapped = read_unmapped_count(reader)
    return BinningIndex("BAI", BAI_MIN_SHIFT, BAI_DEPTH, references, unmapped)
