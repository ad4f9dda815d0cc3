"""Tests for the CRAM header reader and the EOF container constants."""

from __future__ import annotations

import contextlib
import gzip
import struct
import zlib
from pathlib import Path

import pytest

from adapters.errors import FormatError
from adapters.formats.cram import (
    CRAM_EOF_V2_1,
    CRAM_EOF_V3,
    CramInfo,
    read_cram_header,
    read_itf8,
    read_ltf8,
)
from adapters.formats.reader import ByteCursor
from tests.adapters.formats.tools import MemoryReader, file_reader, run, sam_references

EOF_START = 4542278
"""Start position of the EOF container: the ITF8 bytes e0 45 4f 46 spell "EOF"."""


def _read(path: Path) -> CramInfo:
    reader = file_reader(path)
    return read_cram_header(reader, reader.size)


def _read_bytes(data: bytes) -> CramInfo:
    return read_cram_header(MemoryReader(data), len(data))


def _first_container_offset(crai: Path) -> int:
    """Return the smallest container offset listed in a CRAI index."""
    rows = gzip.decompress(crai.read_bytes()).decode().splitlines()
    return min(int(row.split("\t")[3]) for row in rows)


def test_shared_cram_references_match_samtools(shared_cram: Path) -> None:
    header = _read(shared_cram).header
    assert [(ref.name, ref.length) for ref in header.references] == sam_references(shared_cram)


def test_shared_cram_header_end_is_first_container(shared_cram: Path) -> None:
    crai = Path(f"{shared_cram}.crai")
    assert _read(shared_cram).header.header_end.coffset == _first_container_offset(crai)


def test_shared_cram_version_and_eof(shared_cram: Path) -> None:
    info = _read(shared_cram)
    assert (info.major, info.minor) == (3, 0)
    assert shared_cram.read_bytes().endswith(info.eof_marker)


def test_header_end_has_no_block_offset(shared_cram: Path) -> None:
    assert _read(shared_cram).header.header_end.uoffset == 0


@pytest.mark.parametrize(
    ("version", "eof"), [("2.1", CRAM_EOF_V2_1), ("3.0", CRAM_EOF_V3), ("3.1", CRAM_EOF_V3)]
)
def test_samtools_cram_versions(
    unmapped_sam: Path, tmp_path: Path, version: str, eof: bytes
) -> None:
    cram = tmp_path / f"v{version}.cram"
    run("samtools", "view", "-C", "--output-fmt-option", f"version={version}",
        "-o", str(cram), str(unmapped_sam))
    run("samtools", "index", str(cram))
    info = _read(cram)
    assert f"{info.major}.{info.minor}" == version
    assert [(ref.name, ref.length) for ref in info.header.references] == sam_references(cram)
    assert info.header.header_end.coffset == _first_container_offset(Path(f"{cram}.crai"))
    assert info.eof_marker == eof
    assert cram.read_bytes().endswith(eof)


def _container_fields(marker: bytes, major: int) -> tuple[list[int], int]:
    """Decode an EOF container header; return its fields and the header length."""
    cursor = ByteCursor(marker)
    fields = [cursor.int32("length")]
    fields += [read_itf8(cursor, "field") for _ in range(4)]
    fields += [read_ltf8(cursor, "field") for _ in range(2)]
    fields += [read_itf8(cursor, "field") for _ in range(2)]
    if major >= 3:
        (crc,) = struct.unpack("<I", marker[cursor.pos : cursor.pos + 4])
        assert crc == zlib.crc32(marker[: cursor.pos])
        cursor.pos += 4
    return fields, cursor.pos


@pytest.mark.parametrize(("marker", "major"), [(CRAM_EOF_V3, 3), (CRAM_EOF_V2_1, 2)])
def test_eof_marker_is_empty_container(marker: bytes, major: int) -> None:
    fields, header_length = _container_fields(marker, major)
    # length, reference id, start, span, records, counter, bases, blocks, landmarks
    assert fields == [len(marker) - header_length, -1, EOF_START, 0, 0, 0, 0, 1, 0]


def test_eof_v3_block_crc_is_valid() -> None:
    _fields, header_length = _container_fields(CRAM_EOF_V3, 3)
    block = CRAM_EOF_V3[header_length:]
    assert struct.unpack("<I", block[-4:])[0] == zlib.crc32(block[:-4])


def test_eof_marker_sizes() -> None:
    assert (len(CRAM_EOF_V3), len(CRAM_EOF_V2_1)) == (38, 30)


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        ("00", 0),
        ("7f", 127),
        ("8080", 128),
        ("bfff", 16383),
        ("c04000", 16384),
        ("e0454f46", EOF_START),
        ("ffffffff0f", -1),
        ("ffffffffff", -1),
        ("f7ffffff0f", 2**31 - 1),
    ],
)
def test_itf8_values(encoded: str, value: int) -> None:
    assert read_itf8(ByteCursor(bytes.fromhex(encoded)), "test") == value


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        ("00", 0),
        ("8100", 256),
        ("c0ffff", 65535),
        ("ff" + "ff" * 8, -1),
        ("fe" + "01" * 7, 0x01010101010101),
    ],
)
def test_ltf8_values(encoded: str, value: int) -> None:
    assert read_ltf8(ByteCursor(bytes.fromhex(encoded)), "test") == value


def _itf8(value: int) -> bytes:
    assert 0 <= value < 0x4000
    return bytes([value]) if value < 0x80 else bytes([0x80 | value >> 8, value & 0xFF])


def _hand_built_cram(text: str, method: int = 0, major: int = 3) -> bytes:
    """Build a CRAM file definition and header container with one SAM header block."""
    raw = struct.pack("<i", len(text)) + text.encode()
    data = gzip.compress(raw) if method == 1 else raw
    block = bytes([method, 0]) + _itf8(0) + _itf8(len(data)) + _itf8(len(raw)) + data
    block += bytes(4) if major >= 3 else b""  # block CRC32, not checked by the reader
    header = struct.pack("<i", len(block)) + bytes([0, 0, 0, 0, 0, 0, 1, 0])
    header += bytes(4) if major >= 3 else b""
    definition = b"CRAM" + bytes([major, 0]) + b"hand-built".ljust(20, b"\0")
    return definition + header + block + CRAM_EOF_V3


@pytest.mark.parametrize("method", [0, 1])
def test_raw_and_gzip_header_blocks(method: int) -> None:
    text = "@HD\tVN:1.6\n@SQ\tSN:chrA\tLN:10\n@SQ\tSN:chrB\tLN:20\tM5:x\n@RG\tID:g\n"
    info = _read_bytes(_hand_built_cram(text, method))
    references = [(ref.name, ref.length) for ref in info.header.references]
    assert references == [("chrA", 10), ("chrB", 20)]
    assert info.header.header_end.coffset == len(_hand_built_cram(text, method)) - 38


def test_sq_line_without_length() -> None:
    info = _read_bytes(_hand_built_cram("@SQ\tSN:chrA\n"))
    assert info.header.references[0].length is None


def test_sq_line_without_name_raises() -> None:
    with pytest.raises(FormatError, match="without SN"):
        _read_bytes(_hand_built_cram("@SQ\tLN:10\n"))


def test_bzip2_header_block_raises() -> None:
    with pytest.raises(FormatError, match="method 2 \\(bzip2\\)"):
        _read_bytes(_hand_built_cram("@SQ\tSN:chrA\tLN:1\n", method=2))


def test_cram_4_is_unsupported() -> None:
    with pytest.raises(FormatError, match=r"unsupported CRAM version 4\.0"):
        _read_bytes(_hand_built_cram("@SQ\tSN:chrA\tLN:1\n", major=4))


def test_wrong_magic_is_not_cram() -> None:
    with pytest.raises(FormatError, match="is not a CRAM file"):
        _read_bytes(b"BAM\x01" + bytes(100))


def test_truncated_cram_raises(shared_cram: Path) -> None:
    data = shared_cram.read_bytes()
    end = _read(shared_cram).header.header_end.coffset
    for cut in range(0, end, 61):
        with pytest.raises(FormatError):
            _read_bytes(data[:cut])


def test_damaged_cram_raises_only_format_error(shared_cram: Path) -> None:
    data = shared_cram.read_bytes()[:7000]
    for position in range(0, 120):
        for value in (0x00, 0x7F, 0xFF):
            damaged = data[:position] + bytes([value]) + data[position + 1 :]
            with contextlib.suppress(FormatError):
                _read_bytes(damaged)
