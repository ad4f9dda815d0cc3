"""A BGZF writer that reports the virtual offset of every record it writes."""

from __future__ import annotations

from typing import BinaryIO

from adapters.formats.bgzf import BGZF_EOF, MAX_PAYLOAD, VirtualOffset, compress


class BgzfWriter:
    """Write BGZF blocks to a binary stream, keeping records inside one block.

    Like htslib, the writer starts a new block before a record that does
    not fit in the current one, so only records larger than a block span
    blocks.
    """

    def __init__(self, stream: BinaryIO, level: int = 6) -> None:
        self._stream = stream
        self._level = level
        self._buffer = bytearray()
        self._coffset = 0

    def tell(self) -> VirtualOffset:
        """Return the virtual offset where the next byte written will start."""
        return VirtualOffset(self._coffset, len(self._buffer))

    def write(self, data: bytes) -> None:
        """Append `data`, writing out each block as it fills."""
        view = memoryview(data)
        while view:
            room = MAX_PAYLOAD - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == MAX_PAYLOAD:
                self.flush()

    def write_record(self, record: bytes) -> tuple[VirtualOffset, VirtualOffset]:
        """Append one record and return its begin and end virtual offsets."""
        if self._buffer and len(self._buffer) + len(record) > MAX_PAYLOAD:
            self.flush()
        begin = self.tell()
        self.write(record)
        return begin, self.tell()

    def flush(self) -> None:
        """Write the buffered bytes as one block, unless the buffer is empty."""
        if not self._buffer:
            return
        block = compress(bytes(self._buffer), self._level)
        self._stream.write(block)
        self._coffset += len(block)
        self._buffer.clear()

    def close(self) -> None:
        """Flush the last block and write the BGZF end-of-file block."""
        self.flush()
        self._stream.write(BGZF_EOF)
        self._coffset += len(BGZF_EOF)
