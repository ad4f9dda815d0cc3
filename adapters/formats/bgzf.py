"""BGZF: the blocked gzip layout under BAM, BCF, bgzipped VCF and their indexes.

A BGZF file is a series of gzip members of at most 64 KiB each, with the
member's compressed size in a `BC` extra field, and ends with a fixed
28-byte empty member (SAM specification v1, section 4.1).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from adapters.errors import FormatError

BGZF_EOF = bytes.fromhex(
    "1f8b08040000000000ff0600424302001b0003000000000000000000"
)
"""The empty block every BGZF file ends with."""

MAX_BLOCK_SIZE = 65536
"""Upper bound of one block's compressed size, header and trailer included."""

MAX_PAYLOAD = 65280
"""Payload size htslib puts in one block; keeps the compressed block under 64 KiB."""

_HEADER = struct.Struct("<4BI2BH")  # magic(2) CM FLG, MTIME, XFL OS, XLEN
_HEADER_SIZE = 12


@dataclass(frozen=True, order=True)
class VirtualOffset:
    """A position in a BGZF file: block start in the file, offset in its payload."""

    coffset: int
    uoffset: int

    @classmethod
    def from_int(cls, value: int) -> VirtualOffset:
        return cls(value >> 16, value & 0xFFFF)

    def __int__(self) -> int:
        return (self.coffset << 16) | self.uoffset


@dataclass(frozen=True)
class Block:
    """One decoded BGZF block."""

    coffset: int
    size: int
    payload: bytes

    @property
    def end(self) -> int:
        """File offset just past this block."""
        return self.coffset + self.size


def block_size(data: bytes, pos: int = 0) -> int:
    """Return the compressed size of the block starting at `data[pos]`."""
    if len(data) - pos < _HEADER_SIZE:
        raise FormatError(f"truncated BGZF block header at byte {pos}")
    id1, id2, cm, flg, _mtime, _xfl, _os, xlen = _HEADER.unpack_from(data, pos)
    if (id1, id2, cm) != (31, 139, 8) or not flg & 4:
        raise FormatError(f"no BGZF block header at byte {pos}")
    extra = pos + _HEADER_SIZE
    extra_end = extra + xlen
    while extra + 4 <= extra_end:
        si1, si2, slen = struct.unpack_from("<2BH", data, extra)
        if (si1, si2, slen) == (66, 67, 2):
            (bsize,) = struct.unpack_from("<H", data, extra + 4)
            return int(bsize) + 1
        extra += 4 + slen
    raise FormatError(f"gzip member at byte {pos} has no BGZF size field")


def decode_block(data: bytes, pos: int = 0, coffset: int | None = None) -> Block:
    """Decompress the block at `data[pos]`; `coffset` is its offset in the file."""
    size = block_size(data, pos)
    if len(data) - pos < size:
        raise FormatError(f"truncated BGZF block at byte {pos}: need {size} bytes")
    member = data[pos : pos + size]
    try:
        payload = zlib.decompress(member, wbits=31)
    except zlib.error as exc:
        raise FormatError(f"corrupt BGZF block at byte {pos}: {exc}") from exc
    return Block(pos if coffset is None else coffset, size, payload)


def iter_blocks(data: bytes, base_offset: int = 0) -> list[Block]:
    """Decode the whole blocks in `data`, which starts at file offset `base_offset`.

    A partial block at the end of `data` is left out, so callers can read a
    file in slices without knowing where blocks end.
    """
    blocks: list[Block] = []
    pos = 0
    while len(data) - pos >= _HEADER_SIZE:
        size = block_size(data, pos)
        if len(data) - pos < size:
            break
        blocks.append(decode_block(data, pos, base_offset + pos))
        pos += size
    return blocks


def decompress_all(data: bytes) -> bytes:
    """Decompress a complete BGZF (or plain gzip) stream, such as a CSI or TBI file."""
    try:
        out = bytearray()
        while data:
            decoder = zlib.decompressobj(wbits=31)
            out += decoder.decompress(data)
            if not decoder.eof:
                raise FormatError("truncated gzip stream")
            data = decoder.unused_data
        return bytes(out)
    except zlib.error as exc:
        raise FormatError(f"corrupt gzip stream: {exc}") from exc


def compress(payload: bytes, level: int = 6) -> bytes:
    """Encode `payload` as BGZF blocks, without the EOF block."""
    out = bytearray()
    for start in range(0, len(payload), MAX_PAYLOAD):
        chunk = payload[start : start + MAX_PAYLOAD]
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        deflated = compressor.compress(chunk) + compressor.flush()
        bsize = _HEADER_SIZE + 6 + len(deflated) + 8
        out += _HEADER.pack(31, 139, 8, 4, 0, 0, 255, 6)
        out += struct.pack("<2BHH", 66, 67, 2, bsize - 1)
        out += deflated
        out += struct.pack("<II", zlib.crc32(chunk), len(chunk))
    return bytes(out)
