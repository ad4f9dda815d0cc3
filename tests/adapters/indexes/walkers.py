"""Record walkers that list what the chunks returned by an index query really contain."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from adapters.formats.bgzf import VirtualOffset, iter_blocks
from adapters.indexes.model import Chunk


class BgzfFile:
    """A whole BGZF file decompressed, with virtual offsets mapped to payload positions."""

    def __init__(self, path: Path) -> None:
        raw = path.read_bytes()
        self.payload = bytearray()
        self._block_starts: dict[int, int] = {}
        for block in iter_blocks(raw):
            self._block_starts[block.coffset] = len(self.payload)
            self.payload += block.payload
        self._block_starts[len(raw)] = len(self.payload)

    def position(self, offset: VirtualOffset) -> int:
        """Return the payload position of a virtual offset."""
        return self._block_starts[offset.coffset] + offset.uoffset

    def spans(self, chunks: Iterable[Chunk]) -> list[tuple[int, int]]:
        """Return the payload [begin, end) positions of the chunks."""
        return [(self.position(c.begin), self.position(c.end)) for c in chunks]


def bam_records(bam: BgzfFile, chunks: Iterable[Chunk]) -> set[tuple[str, int, int]]:
    """Return (QNAME, 1-based POS, FLAG) of every BAM record starting inside the chunks."""
    found = set()
    for pos, end in bam.spans(chunks):
        while pos < end:
            (block_size,) = struct.unpack_from("<i", bam.payload, pos)
            _ref, position, name_length = struct.unpack_from("<iiB", bam.payload, pos + 4)
            (flag,) = struct.unpack_from("<H", bam.payload, pos + 18)
            name = bytes(bam.payload[pos + 36 : pos + 36 + name_length - 1]).decode()
            found.add((name, position + 1, flag))
            pos += 4 + block_size
    return found


def text_lines(text: BgzfFile, chunks: Iterable[Chunk]) -> set[str]:
    """Return every line of a bgzipped text file that starts inside the chunks."""
    found = set()
    for pos, end in text.spans(chunks):
        while pos < end:
            line_end = text.payload.index(b"\n", pos)
            found.add(bytes(text.payload[pos:line_end]).decode())
            pos = line_end + 1
    return found


def bcf_records(bcf: BgzfFile, chunks: Iterable[Chunk]) -> set[tuple[int, int]]:
    """Return (CHROM id, 1-based POS) of every BCF record starting inside the chunks."""
    found = set()
    for pos, end in bcf.spans(chunks):
        while pos < end:
            shared, individual, chrom, position = struct.unpack_from("<IIii", bcf.payload, pos)
            found.add((chrom, position + 1))
            pos += 8 + shared + individual
    return found
