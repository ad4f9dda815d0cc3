"""Fetching the start of an object in growing slices until its header parses.

Header readers take a `RangeReader` instead of a storage backend, so they
work the same on local files, S3 objects and in-memory test data. Each
reader writes a parse function that raises `Incomplete` when the bytes run
out, and one of the loops here fetches more and calls it again.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from adapters.errors import FormatError
from adapters.formats.bgzf import (
    MAX_BLOCK_SIZE,
    Block,
    VirtualOffset,
    block_size,
    decode_block,
)

RangeReader = Callable[[int, int], bytes]
"""Return bytes `[start, end)` of an object; fewer only at the end of the object."""

FIRST_SLICE = 64 * 1024
"""Bytes fetched by the first read of a header."""

MAX_HEADER_SIZE = 64 * 1024 * 1024
"""Largest header a reader accepts, so a corrupt length cannot exhaust memory."""

T = TypeVar("T")

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_HEADER_SIZE = 12


class Incomplete(Exception):
    """The bytes fetched so far end before the structure being parsed does."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class ByteCursor:
    """Little-endian reads from a buffer that raise `Incomplete` past its end."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, count: int, where: str) -> bytes:
        """Return the next `count` bytes; `where` names the field for error messages."""
        end = self.pos + count
        if end > len(self.data):
            raise Incomplete(where)
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def uint8(self, where: str) -> int:
        """Read one unsigned byte."""
        return self.take(1, where)[0]

    def int32(self, where: str) -> int:
        """Read a signed 32-bit integer."""
        value: int = struct.unpack("<i", self.take(4, where))[0]
        return value

    def uint32(self, where: str) -> int:
        """Read an unsigned 32-bit integer."""
        value: int = struct.unpack("<I", self.take(4, where))[0]
        return value


def check_declared_size(kind: str, what: str, size: int) -> None:
    """Raise FormatError when a length field is negative or above `MAX_HEADER_SIZE`."""
    if size < 0:
        raise FormatError(f"corrupt {kind} file: {what} is negative ({size})")
    if size > MAX_HEADER_SIZE:
        raise FormatError(
            f"{kind} header is too large: {what} is {size} bytes, "
            f"above the limit of {MAX_HEADER_SIZE} bytes (64 MiB)"
        )


def _slice_ends(size: int) -> Iterator[int]:
    """Yield the growing prefix lengths to fetch: 64 KiB, then doubling, up to the cap."""
    end = FIRST_SLICE
    limit = MAX_HEADER_SIZE + MAX_BLOCK_SIZE
    while True:
        yield min(end, size, limit)
        if end >= size or end >= limit:
            return
        end *= 2


@dataclass
class Prefix:
    """The first bytes of an object; `complete` once they reach its end."""

    data: bytes = b""
    complete: bool = False

    def extend(self, read: RangeReader, end: int, size: int) -> None:
        """Fetch bytes up to `end`, marking the prefix complete at the object's end."""
        start = len(self.data)
        if end > start:
            chunk = read(start, end)[: end - start]
            self.data += chunk
            if len(chunk) < end - start:
                self.complete = True
        if len(self.data) >= size:
            self.complete = True


def parse_prefix(read: RangeReader, size: int, parse: Callable[[Prefix], T], kind: str) -> T:
    """Call `parse` on growing prefixes of an object until it stops raising Incomplete."""
    prefix = Prefix()
    for end in _slice_ends(size):
        prefix.extend(read, end, size)
        try:
            return parse(prefix)
        except Incomplete as exc:
            if prefix.complete:
                raise FormatError(f"truncated {kind} file: it ends inside {exc.where}") from None
    raise FormatError(
        f"{kind} header is too large: it does not end within the first "
        f"{len(prefix.data)} bytes, and the limit is {MAX_HEADER_SIZE} bytes (64 MiB)"
    )


@dataclass
class BgzfPrefix:
    """The decoded leading blocks of a BGZF object.

    A bad block stops decoding and is kept in `error`, so a header that
    ends before a damaged block still parses.
    """

    kind: str
    raw: Prefix = field(default_factory=Prefix)
    blocks: list[Block] = field(default_factory=list)
    payload: bytes = b""
    error: FormatError | None = None
    _starts: list[int] = field(default_factory=list)
    _decoded_to: int = 0

    @property
    def complete(self) -> bool:
        """True when every block of the object has been decoded."""
        return self.raw.complete and self._decoded_to >= len(self.raw.data)

    def extend(self, read: RangeReader, end: int, size: int) -> None:
        """Fetch compressed bytes up to `end` and decode the blocks they complete."""
        self.raw.extend(read, end, size)
        data = self.raw.data
        decoded = bytearray()
        while self.error is None and self._decoded_to < len(data):
            pos = self._decoded_to
            try:
                need = _known_block_size(data, pos)
                if need is None or len(data) - pos < need:
                    if not self.raw.complete:
                        break
                    raise FormatError(f"truncated BGZF block at byte {pos}")
                block = decode_block(data, pos)
            except FormatError as exc:
                self.error = self._block_error(exc)
                break
            self._starts.append(len(self.payload) + len(decoded))
            self.blocks.append(block)
            decoded += block.payload
            self._decoded_to = block.end
        self.payload += decoded

    def _block_error(self, exc: FormatError) -> FormatError:
        if self._decoded_to == 0:
            return FormatError(
                f"object is not a {self.kind} file: {exc}; "
                "the file must be BGZF-compressed (bgzip, samtools and bcftools write BGZF)"
            )
        return FormatError(f"corrupt {self.kind} file: {exc}")

    def virtual_offset(self, pos: int) -> VirtualOffset:
        """Map an offset in the decompressed payload to a BGZF virtual offset.

        An offset at the end of a block maps to the start of the block that
        follows it, as `(next block offset, 0)`.
        """
        if pos == 0:
            return VirtualOffset(0, 0)
        # Find the block holding the byte just before `pos`.
        index = bisect.bisect_right(self._starts, pos - 1) - 1
        if index >= 0:
            start = self._starts[index]
            block = self.blocks[index]
            if pos - start < len(block.payload):
                return VirtualOffset(block.coffset, pos - start)
            if pos - start == len(block.payload):
                return VirtualOffset(block.end, 0)
        raise ValueError(f"payload offset {pos} is beyond the decoded blocks")


def _known_block_size(data: bytes, pos: int) -> int | None:
    """Return the size of the block at `data[pos]`, or None if its header is cut off."""
    if len(data) - pos < _GZIP_HEADER_SIZE:
        if not _GZIP_MAGIC.startswith(data[pos : pos + 2]):
            raise FormatError(f"no BGZF block header at byte {pos}")
        return None
    (extra_length,) = struct.unpack_from("<H", data, pos + 10)
    if len(data) - pos < _GZIP_HEADER_SIZE + extra_length:
        return None
    try:
        return block_size(data, pos)
    except struct.error:
        raise FormatError(f"corrupt BGZF extra field at byte {pos}") from None


def parse_bgzf_prefix(
    read: RangeReader, size: int, parse: Callable[[BgzfPrefix], T], kind: str
) -> T:
    """Call `parse` on growing decoded BGZF prefixes until it stops raising Incomplete."""
    prefix = BgzfPrefix(kind)
    for end in _slice_ends(size):
        prefix.extend(read, end, size)
        try:
            return parse(prefix)
        except Incomplete as exc:
            if prefix.error is not None:
                raise prefix.error from None
            if len(prefix.payload) > MAX_HEADER_SIZE:
                break
            if prefix.complete:
                raise FormatError(f"truncated {kind} file: it ends inside {exc.where}") from None
    raise FormatError(
        f"{kind} header is too large: it does not end within the first "
        f"{len(prefix.payload)} decompressed bytes, and the limit is "
        f"{MAX_HEADER_SIZE} bytes (64 MiB)"
    )
