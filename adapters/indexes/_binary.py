"""Bounds-checked little-endian reading for the binary index formats."""

from __future__ import annotations

import struct

from adapters.errors import FormatError

_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")
_UINT64 = struct.Struct("<Q")


class ByteReader:
    """A cursor over index bytes that raises FormatError instead of reading past the end."""

    def __init__(self, data: bytes, kind: str) -> None:
        self.data = data
        self.pos = 0
        self.kind = kind

    @property
    def remaining(self) -> int:
        """Number of bytes after the cursor."""
        return len(self.data) - self.pos

    def error(self, problem: str, pos: int | None = None) -> FormatError:
        """Build a FormatError that names the format, the byte offset and the fix."""
        where = self.pos if pos is None else pos
        return FormatError(
            f"invalid {self.kind} index at byte {where}: {problem}; "
            "re-create the index from the data file"
        )

    def take(self, size: int, what: str) -> bytes:
        """Read `size` raw bytes."""
        if size < 0 or size > self.remaining:
            raise self.error(f"{what} needs {size} bytes but {self.remaining} remain")
        start = self.pos
        self.pos += size
        return self.data[start : self.pos]

    def int32(self, what: str) -> int:
        """Read a signed 32-bit integer."""
        return int(_INT32.unpack(self.take(4, what))[0])

    def uint32(self, what: str) -> int:
        """Read an unsigned 32-bit integer."""
        return int(_UINT32.unpack(self.take(4, what))[0])

    def uint64(self, what: str) -> int:
        """Read an unsigned 64-bit integer."""
        return int(_UINT64.unpack(self.take(8, what))[0])

    def count(self, what: str, item_size: int) -> int:
        """Read an int32 item count and check that that many items can still fit."""
        start = self.pos
        value = self.int32(what)
        if value < 0:
            raise self.error(f"{what} is negative ({value})", start)
        if value * item_size > self.remaining:
            raise self.error(
                f"{what} is {value}, but only {self.remaining} bytes remain "
                f"for items of at least {item_size} bytes",
                start,
            )
        return value

    def uint64_array(self, length: int, what: str) -> tuple[int, ...]:
        """Read `length` unsigned 64-bit integers."""
        raw = self.take(8 * length, what)
        return struct.unpack(f"<{length}Q", raw)
