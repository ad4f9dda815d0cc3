"""TBI: the tabix index of a bgzipped, position-sorted text file such as VCF (tabix spec)."""

from __future__ import annotations

from adapters.formats.bgzf import decompress_all
from adapters.indexes._binary import ByteReader
from adapters.indexes.binning import (
    BAI_DEPTH,
    BAI_MIN_SHIFT,
    BinningIndex,
    read_references,
    read_unmapped_count,
)
from adapters.indexes.tabix import read_tabix_meta

TBI_MAGIC = b"TBI\x01"


def parse_tbi(data: bytes) -> BinningIndex:
    """Parse the raw (BGZF-compressed) bytes of a .tbi file; raise FormatError if invalid."""
    reader = ByteReader(decompress_all(data), "TBI")
    if reader.take(4, "magic") != TBI_MAGIC:
        raise reader.error("magic is not TBI\\1, so this is not a tabix index", 0)
    n_ref = reader.count("reference count", 8)
    meta = read_tabix_meta(reader)
    if len(meta.names) != n_ref:
        raise reader.error(f"the header names {len(meta.names)} sequences for {n_ref} references")
    references = read_references(reader, n_ref, BAI_DEPTH, csi=False)
    unmapped = read_unmapped_count(reader)
    return BinningIndex("TBI", BAI_MIN_SHIFT, BAI_DEPTH, references, unmapped, meta)
