"""The tabix header: how to read coordinates from text lines, and the sequence names.

TBI files start with it, and tabix stores the same bytes in the auxiliary
field of a CSI index (tabix specification; CSI specification v1).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.indexes._binary import ByteReader

FORMAT_GENERIC = 0
FORMAT_SAM = 1
FORMAT_VCF = 2
ZERO_BASED_FLAG = 0x10000
"""Set in `format` when begin columns are 0-based, as in BED."""

_KNOWN_FORMATS = (FORMAT_GENERIC, FORMAT_SAM, FORMAT_VCF)


@dataclass(frozen=True)
class TabixMeta:
    """Column layout of the indexed text file and its sequence names."""

    format: int
    col_seq: int
    col_beg: int
    col_end: int
    meta_char: str
    skip: int
    names: tuple[str, ...]

    @property
    def preset(self) -> int:
        """The format without the zero-based flag: FORMAT_GENERIC, FORMAT_SAM or FORMAT_VCF."""
        return self.format & ~ZERO_BASED_FLAG

    @property
    def zero_based(self) -> bool:
        """Whether begin columns count from 0 (BED-like) instead of 1."""
        return bool(self.format & ZERO_BASED_FLAG)


def read_tabix_meta(reader: ByteReader) -> TabixMeta:
    """Read the seven int32 fields and the NUL-terminated sequence names."""
    start = reader.pos
    fmt = reader.int32("tabix format")
    if fmt & ~ZERO_BASED_FLAG not in _KNOWN_FORMATS:
        raise reader.error(f"unknown tabix format {fmt:#x} (expected 0, 1 or 2)", start)
    col_seq = reader.int32("tabix sequence column")
    col_beg = reader.int32("tabix begin column")
    col_end = reader.int32("tabix end column")
    meta = reader.int32("tabix meta character")
    skip = reader.int32("tabix skip line count")
    if col_seq < 0 or col_beg < 0 or col_end < 0 or skip < 0:
        raise reader.error("negative tabix column number or skip count", start)
    if not 0 <= meta < 128:
        raise reader.error(f"tabix meta character {meta} is not ASCII", start)
    names_length = reader.count("tabix names length", 1)
    names = _split_names(reader, reader.take(names_length, "tabix names"))
    return TabixMeta(fmt, col_seq, col_beg, col_end, chr(meta), skip, names)


def _split_names(reader: ByteReader, block: bytes) -> tuple[str, ...]:
    if not block:
        return ()
    if not block.endswith(b"\0"):
        raise reader.error("tabix names do not end with a NUL byte")
    try:
        names = block[:-1].decode("utf-8").split("\0")
    except UnicodeDecodeError as exc:
        raise reader.error(f"tabix names are not UTF-8 ({exc.reason})") from exc
    if "" in names:
        raise reader.error("tabix names contain an empty sequence name")
    return tuple(names)
