"""CRAM header reader, following the CRAM format specification (versions 2.1 and 3.1).

A CRAM file starts with a 26-byte file definition, then a container whose
first block holds the SAM header text. Data containers follow it, so the
end of that container is where the first record can start.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from adapters.errors import FormatError
from adapters.formats.bgzf import VirtualOffset
from adapters.formats.header import FileHeader, Reference
from adapters.formats.reader import (
    MAX_HEADER_SIZE,
    ByteCursor,
    Prefix,
    RangeReader,
    check_declared_size,
    parse_prefix,
)

CRAM_MAGIC = b"CRAM"
FILE_DEFINITION_SIZE = 26

CRAM_EOF_V3 = bytes.fromhex(
    "0f000000 ffffffff0f e0454f46 00 00 00 00 01 00 05bdd94f"
    " 00 01 00 06 06 010001000100 ee63014b"
)
"""The 38-byte EOF container that ends a CRAM 3.x file.

An empty container: length 15, reference id -1, start 4542278 (the bytes
"EOF"), no records, and one raw compression header block with empty maps.
Its header and its block each end with a CRC32.
"""

CRAM_EOF_V2_1 = bytes.fromhex(
    "0b000000 ffffffff0f e0454f46 00 00 00 00 01 00 00 01 00 06 06 010001000100"
)
"""The 30-byte EOF container that ends a CRAM 2.1 file: as in 3.x, without CRC32 fields.

These are the bytes htslib 1.16 writes. Other writers put 0xff in byte 8;
it decodes to the same reference id because ITF8 uses only the low 4 bits
of a fifth byte, and htslib 1.16 accepts either form.
"""

FILE_HEADER_CONTENT = 0
"""Block content type of the block that holds the SAM header text."""

_BLOCK_METHODS = {
    0: "raw",
    1: "gzip",
    2: "bzip2",
    3: "lzma",
    4: "rANS 4x8",
    5: "rANS 4x16",
    6: "adaptive arithmetic",
    7: "fqzcomp",
    8: "name tokeniser",
}


@dataclass(frozen=True)
class CramInfo:
    """Version, header facts and the expected EOF container of a CRAM file.

    `eof_marker` is empty for CRAM 2.0, which has no EOF container.
    """

    major: int
    minor: int
    header: FileHeader
    eof_marker: bytes


def read_cram_header(read: RangeReader, size: int) -> CramInfo:
    """Read the version, references and header container end of a CRAM file."""
    return parse_prefix(read, size, _parse_file, "CRAM")


def _parse_file(prefix: Prefix) -> CramInfo:
    data = prefix.data
    if not CRAM_MAGIC.startswith(data[:4]):
        raise FormatError(
            f"object is not a CRAM file: it starts with {data[:4]!r} instead of {CRAM_MAGIC!r}"
        )
    cursor = ByteCursor(data)
    cursor.take(4, "the CRAM magic number")
    major = cursor.uint8("the file definition")
    minor = cursor.uint8("the file definition")
    eof_marker = _eof_marker(major, minor)
    cursor.take(FILE_DEFINITION_SIZE - 6, "the file id")

    length, block_start = _read_container_header(cursor, major)
    check_declared_size("CRAM", "the header container length", length)
    container = cursor.take(length, "the header container")
    text = _read_header_text(ByteCursor(container))
    references = _references_from_sam_text(text)
    header = FileHeader("CRAM", references, VirtualOffset(block_start + length, 0))
    return CramInfo(major, minor, header, eof_marker)


def _eof_marker(major: int, minor: int) -> bytes:
    if major == 3:
        return CRAM_EOF_V3
    if (major, minor) == (2, 1):
        return CRAM_EOF_V2_1
    if (major, minor) == (2, 0):
        return b""
    raise FormatError(
        f"unsupported CRAM version {major}.{minor}: only CRAM 2.0, 2.1, 3.0 and 3.1 "
        "can be read; convert the file with samtools view -C"
    )


def read_itf8(cursor: ByteCursor, where: str) -> int:
    """Read an ITF8 integer: 1 to 5 bytes, the count set by the first byte's leading ones."""
    first = cursor.uint8(where)
    if first < 0x80:
        return first
    if first < 0xC0:
        value = (first & 0x3F) << 8 | cursor.uint8(where)
    elif first < 0xE0:
        value = (first & 0x1F) << 16 | int.from_bytes(cursor.take(2, where), "big")
    elif first < 0xF0:
        value = (first & 0x0F) << 24 | int.from_bytes(cursor.take(3, where), "big")
    else:
        rest = cursor.take(4, where)
        # Only the low 4 bits of the last byte belong to the value.
        value = (first & 0x0F) << 28 | int.from_bytes(rest[:3], "big") << 4 | rest[3] & 0x0F
    return value - (1 << 32) if value >= 1 << 31 else value


def read_ltf8(cursor: ByteCursor, where: str) -> int:
    """Read an LTF8 integer: 1 to 9 bytes, the count set by the first byte's leading ones."""
    first = cursor.uint8(where)
    extra = 0
    while extra < 8 and first & (0x80 >> extra):
        extra += 1
    high_bits = first & (0xFF >> (extra + 1))
    value = high_bits << (8 * extra) | int.from_bytes(cursor.take(extra, where), "big")
    return value - (1 << 64) if value >= 1 << 63 else value


def _read_container_header(cursor: ByteCursor, major: int) -> tuple[int, int]:
    """Read a container header and return the container length and where its blocks start."""
    where = "the header container's header"
    length = cursor.int32(where)
    for _field in ("reference id", "start", "span", "record count"):
        read_itf8(cursor, where)
    read_ltf8(cursor, where)  # record counter
    read_ltf8(cursor, where)  # bases
    block_count = read_itf8(cursor, where)
    if block_count < 1:
        raise FormatError(f"corrupt CRAM file: the header container has {block_count} blocks")
    landmark_count = read_itf8(cursor, where)
    if landmark_count < 0:
        raise FormatError(f"corrupt CRAM file: negative landmark count {landmark_count}")
    for _index in range(landmark_count):
        read_itf8(cursor, where)
    if major >= 3:
        cursor.take(4, where)  # CRC32 of the container header
    return length, cursor.pos


def _read_header_text(cursor: ByteCursor) -> str:
    """Decode the SAM header text from the first block of the header container."""
    data = _read_header_block(cursor)
    body = ByteCursor(data)
    text_length = body.int32("the SAM header text length")
    check_declared_size("CRAM", "the SAM header text length", text_length)
    if text_length > len(data) - 4:
        raise FormatError(
            f"corrupt CRAM file: SAM header text length {text_length} is larger "
            f"than its block ({len(data) - 4} bytes)"
        )

    text = body.take(text_length, "the SAM header text")
    return _decode_text(text.split(b"\0", 1)[0])


def _read_header_block(cursor: ByteCursor) -> bytes:
    """Read the file header block and return its uncompressed data."""
    where = "the SAM header block"
    method = cursor.uint8(where)
    content_type = cursor.uint8(where)
    read_itf8(cursor, where)  # content id
    compressed_size = read_itf8(cursor, where)
    raw_size = read_itf8(cursor, where)
    check_declared_size("CRAM", "the SAM header block size", compressed_size)
    check_declared_size("CRAM", "the uncompressed SAM header block size", raw_size)
    data = cursor.take(compressed_size, where)

    if content_type != FILE_HEADER_CONTENT:
        raise FormatError(
            f"corrupt CRAM file: the first block of the header container has content "
            f"type {content_type}, not {FILE_HEADER_CONTENT} (file header)"
        )
    if method == 0:
        return data
    if method == 1:
        return _gunzip(data)
    name = _BLOCK_METHODS.get(method, "unknown")
    raise FormatError(
        f"unsupported CRAM header block compression: method {method} ({name}); "
        "only raw and gzip header blocks can be read, so rewrite the file with "
        "samtools view -C, which writes a gzip header block"
    )


def _gunzip(data: bytes) -> bytes:
    decoder = zlib.decompressobj(wbits=47)  # gzip or zlib wrapper, detected from the header
    try:
        output = decoder.decompress(data, MAX_HEADER_SIZE + 1)
    except zlib.error as exc:
        raise FormatError(
            f"corrupt CRAM file: the SAM header block does not inflate: {exc}"
        ) from None
    check_declared_size("CRAM", "the inflated SAM header block", len(output))
    if not decoder.eof:
        raise FormatError("corrupt CRAM file: the gzip stream of the SAM header block is truncated")
    return output


def _decode_text(text: bytes) -> str:
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"corrupt CRAM file: the SAM header text is not UTF-8: {exc}") from None


def _references_from_sam_text(text: str) -> tuple[Reference, ...]:
    """Return the @SQ references of a SAM header, in order."""
    references: list[Reference] = []
    for line in text.splitlines():
        if not line.startswith("@SQ\t"):
            continue
        fields = dict(
            item.split(":", 1) for item in line.split("\t")[1:] if len(item) > 2 and ":" in item
        )
        name = fields.get("SN")
        if not name:
            raise FormatError(f"corrupt CRAM file: @SQ line without SN tag: {line[:200]!r}")
        references.append(Reference(name, _parse_length(fields.get("LN"), name)))
    return tuple(references)


def _parse_length(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise FormatError(f"corrupt CRAM file: @SQ line for {name!r} has invalid LN:{value}")
    return int(value)

