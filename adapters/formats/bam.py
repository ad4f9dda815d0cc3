"""BAM header reader, following the BAM part of the SAM/BAM format specification (SAMv1)."""

from __future__ import annotations

from adapters.errors import FormatError
from adapters.formats.header import FileHeader, Reference
from adapters.formats.reader import (
    BgzfPrefix,
    ByteCursor,
    RangeReader,
    check_declared_size,
    parse_bgzf_prefix,
)

BAM_MAGIC = b"BAM\x01"


def read_bam_header(read: RangeReader, size: int) -> FileHeader:
    """Read the reference list of a BAM file and where its first record starts."""
    return parse_bgzf_prefix(read, size, _parse_header, "BAM")


def _parse_header(prefix: BgzfPrefix) -> FileHeader:
    payload = prefix.payload
    if not BAM_MAGIC.startswith(payload[:4]):
        raise FormatError(
            f"object is not a BAM file: it starts with {payload[:4]!r} instead of {BAM_MAGIC!r}"
        )
    cursor = ByteCursor(payload)
    cursor.take(4, "the BAM magic number")
    text_length = cursor.int32("the header text length")
    check_declared_size("BAM", "the header text length (l_text)", text_length)
    cursor.take(text_length, "the header text")
    count = cursor.int32("the reference count")
    # Each reference takes at least 9 bytes: name length, a 1-byte name, length.
    check_declared_size("BAM", "the reference list (9 * n_ref)", 9 * count)
    references = tuple(_read_reference(cursor, index) for index in range(count))
    return FileHeader("BAM", references, prefix.virtual_offset(cursor.pos))


def _read_reference(cursor: ByteCursor, index: int) -> Reference:
    where = f"reference {index} of the reference list"
    name_length = cursor.int32(where)
    if name_length < 1:
        raise FormatError(
            f"corrupt BAM file: reference {index} has name length {name_length}, "
            "and a name needs at least its NUL terminator"
        )
    check_declared_size("BAM", f"the name length of reference {index}", name_length)
    raw_name = cursor.take(name_length, where)
    length = cursor.int32(where)
    if raw_name[-1] != 0:
        raise FormatError(f"corrupt BAM file: the name of reference {index} is not NUL-terminated")
    if length < 0:
        raise FormatError(f"corrupt BAM file: reference {index} has negative length {length}")
    try:
        name = raw_name[:-1].decode("ascii")
    except UnicodeDecodeError:
        raise FormatError(
            f"corrupt BAM file: the name of reference {index} is not ASCII: {raw_name[:-1]!r}"
        ) from None
    return Reference(name, length)
