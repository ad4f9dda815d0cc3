"""Helpers for the format tests: htslib tools, in-memory readers and hand-built files."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from adapters.formats.bgzf import BGZF_EOF, compress, iter_blocks
from tests.support import require_tool


def run(*args: str) -> str:
    """Run an htslib tool and return its standard output."""
    require_tool(args[0])
    result = subprocess.run(args, check=True, capture_output=True, text=True)
    return result.stdout


@dataclass
class MemoryReader:
    """A RangeReader over bytes in memory that logs every range requested."""

    data: bytes
    calls: list[tuple[int, int]] = field(default_factory=list)

    def __call__(self, start: int, end: int) -> bytes:
        self.calls.append((start, end))
        return self.data[start:end]

    @property
    def size(self) -> int:
        """Size of the object in bytes."""
        return len(self.data)


def file_reader(path: Path) -> MemoryReader:
    """Return a MemoryReader over a whole file."""
    return MemoryReader(path.read_bytes())


def bgzf_file(payload: bytes) -> bytes:
    """Return `payload` compressed as BGZF blocks followed by the EOF block."""
    return compress(payload) + BGZF_EOF


def decompressed_at(data: bytes, coffset: int, uoffset: int) -> bytes:
    """Return the decompressed stream from virtual offset (coffset, uoffset) to the end."""
    blocks = iter_blocks(data[coffset:], coffset)
    return b"".join(block.payload for block in blocks)[uoffset:]


def sam_references(path: Path) -> list[tuple[str, int]]:
    """Return (SN, LN) of the @SQ lines `samtools view -H` prints."""
    references = []
    for line in run("samtools", "view", "-H", str(path)).splitlines():
        if line.startswith("@SQ\t"):
            tags = dict(item.split(":", 1) for item in line.split("\t")[1:])
            references.append((tags["SN"], int(tags["LN"])))
    return references


def vcf_contigs(path: Path) -> list[tuple[str, int]]:
    """Return (ID, length) of the ##contig lines `bcftools view -h` prints."""
    contigs = []
    for line in run("bcftools", "view", "-h", str(path)).splitlines():
        if line.startswith("##contig=<"):
            fields = dict(item.split("=", 1) for item in line[10:-1].split(",") if "=" in item)
            contigs.append((fields["ID"], int(fields["length"])))
    return contigs
