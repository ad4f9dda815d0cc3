"""CSI: the binning index with a configurable tree, for BAM, BCF and bgzipped text (CSI v1)."""

from __future__ import annotations

from adapters.formats.bgzf import decompress_all
from adapters.indexes._binary import ByteReader
from adapters.indexes.binning import (
    MAX_CSI_DEPTH,
    BinningIndex,
    read_references,
    read_unmapped_count,
)
from adapters.indexes.tabix import TabixMeta, read_tabix_meta

CSI_MAGIC = b"CSI\x01"
MAX_POSITION_BITS = 63
"""min_shift + 3 * depth must leave positions representable as signed 64-bit integers."""


def parse_csi(data: bytes) -> BinningIndex:
    """Parse the raw (BGZF-compressed) bytes of a .csi file; raise FormatError if invalid.

    Tabix writes its header into the auxiliary field, which then supplies the
    reference names. samtools and bcftools leave the field empty, and any other
    non-empty content is rejected as not being a tabix header.
    """
    reader = ByteReader(decompress_all(data), "CSI")
    if reader.take(4, "magic") != CSI_MAGIC:
        raise reader.error("magic is not CSI\\1, so this is not a CSI file", 0)
    min_shift = reader.int32("min_shift")
    depth = reader.int32("depth")
    valid_depth = 0 <= depth <= MAX_CSI_DEPTH
    if min_shift <= 0 or not valid_depth or min_shift + 3 * depth >= MAX_POSITION_BITS:
        raise reader.error(f"unsupported min_shift {min_shift} with depth {depth}", 4)
    aux_length = reader.count("auxiliary data length", 1)
    meta = _parse_aux(reader.take(aux_length, "auxiliary data"))
    n_ref = reader.count("reference count", 4)
    if meta is not None and len(meta.names) != n_ref:
        names = len(meta.names)
        raise reader.error(f"the tabix header names {names} sequences for {n_ref} references")
    references = read_references(reader, n_ref, depth, csi=True)
    unmapped = read_unmapped_count(reader)
    return BinningIndex("CSI", min_shift, depth, references, unmapped, meta)


def _parse_aux(aux: bytes) -> TabixMeta | None:
    if not aux:
        return None
    reader = ByteReader(aux, "CSI auxiliary tabix")
    meta = read_tabix_meta(reader)
    if reader.remaining:
        raise reader.error(f"{reader.remaining} bytes follow the tabix header")
    return meta
