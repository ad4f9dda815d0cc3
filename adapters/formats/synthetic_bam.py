"""Deterministic sample BAM files with their BAI index, written in pure Python."""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.formats.bam import BAM_MAGIC
from adapters.formats.bgzf_writer import BgzfWriter
from adapters.formats.binning_index import UNPLACED_BIN, BinningIndex, check_references, reg2bin

READ_GROUP = "sample"
"""ID and sample name of the one read group every sample read belongs to."""

_SEQ_CODES = {base: code for code, base in enumerate("=ACMGRSVTWYHKDBN")}
_CIGAR_CODES = {op: code for code, op in enumerate("MIDNSHP=X")}
_CONSUMES_REFERENCE = set("MDN=X")
_CIGAR_VARIANTS = 4
"""Number of CIGAR shapes a mapped read can take: plain, soft clip, deletion, insertion."""

_FLAG_REVERSE = 0x10
_FLAG_UNMAPPED = 0x4


@dataclass(frozen=True)
class _Read:
    """One alignment to encode, with `reference_id` and `position` -1 when unplaced."""

    name: str
    reference_id: int
    position: int
    flag: int
    mapq: int
    cigar: tuple[tuple[int, str], ...]
    sequence: str
    qualities: bytes
    edit_distance: int

    @property
    def reference_span(self) -> int:
        """Reference bases the alignment covers (at least 1, so a bin can be computed)."""
        span = sum(length for length, op in self.cigar if op in _CONSUMES_REFERENCE)
        return max(span, 1)


def write_sample_bam(
    path: Path,
    *,
    references: Sequence[tuple[str, int]],
    reads_per_reference: int,
    unmapped_reads: int,
    seed: int = 0,
    read_length: int = 100,
) -> None:
    """Write a coordinate-sorted BAM of random reads to `path` and its BAI to `path.bai`.

    On the same Python version, the same arguments produce the same bytes.
    """
    _check_arguments(references, reads_per_reference, unmapped_reads, read_length)
    rng = random.Random(seed)
    index = BinningIndex(len(references))
    with open(path, "wb") as stream:
        writer = BgzfWriter(stream)
        writer.write(_encode_header(references))
        writer.flush()
        for reference_id, (_name, length) in enumerate(references):
            reads = _mapped_reads(rng, reference_id, length, reads_per_reference, read_length)
            for read in reads:
                offsets = writer.write_record(_encode_read(read))
                end = read.position + read.reference_span
                index.add(reference_id, read.position, end, offsets)
        for number in range(unmapped_reads):
            writer.write_record(_encode_read(_unmapped_read(rng, number, read_length)))
        index.unplaced = unmapped_reads
        writer.close()
    Path(f"{path}.bai").write_bytes(index.bai())


def _check_arguments(
    references: Sequence[tuple[str, int]],
    reads_per_reference: int,
    unmapped_reads: int,
    read_length: int,
) -> None:
    check_references(references)
    if reads_per_reference < 0 or unmapped_reads < 0:
        raise ValueError(
            f"read counts must not be negative: reads_per_reference={reads_per_reference}, "
            f"unmapped_reads={unmapped_reads}"
        )
    if read_length < 10:
        raise ValueError(f"read_length is {read_length}; use at least 10 bases")
    for name, length in references:
        if length < 2 * read_length:
            raise ValueError(
                f"reference {name!r} has length {length}, too short for reads of "
                f"{read_length} bases; use a length of at least {2 * read_length}"
            )


def _encode_header(references: Sequence[tuple[str, int]]) -> bytes:
    """Encode the BAM header: magic, SAM text and the binary reference list."""
    lines = ["@HD\tVN:1.6\tSO:coordinate"]
    lines.extend(f"@SQ\tSN:{name}\tLN:{length}" for name, length in references)
    lines.append(f"@RG\tID:{READ_GROUP}\tSM:{READ_GROUP}\tPL:ILLUMINA")
    lines.append("@PG\tID:consentry\tPN:consentry\tCL:write_sample_bam")
    text = ("\n".join(lines) + "\n").encode("ascii")

    parts = [BAM_MAGIC, struct.pack("<i", len(text)), text, struct.pack("<i", len(references))]
    for name, length in references:
        encoded = name.encode("ascii") + b"\0"
        parts.append(struct.pack("<i", len(encoded)) + encoded + struct.pack("<i", length))
    return b"".join(parts)


def _random_cigar(rng: random.Random, read_length: int) -> tuple[tuple[int, str], ...]:
    variant = rng.randrange(_CIGAR_VARIANTS)
    cut = rng.randrange(5, read_length - 5)
    if variant == 1:
        return ((cut, "S"), (read_length - cut, "M"))
    if variant == 2:
        return ((cut, "M"), (rng.randint(1, 5), "D"), (read_length - cut, "M"))
    if variant == 3:
        inserted = rng.randint(1, 3)
        return ((cut, "M"), (inserted, "I"), (read_length - cut - inserted, "M"))
    return ((read_length, "M"),)


def _mapped_reads(
    rng: random.Random, reference_id: int, length: int, count: int, read_length: int
) -> list[_Read]:
    """Draw `count` reads on one reference, sorted by position."""
    reads: list[_Read] = []
    for number in range(count):
        cigar = _random_cigar(rng, read_length)
        indel_bases = sum(size for size, op in cigar if op in "ID")
        span = sum(size for size, op in cigar if op in _CONSUMES_REFERENCE)
        reads.append(
            _Read(
                name=f"ref{reference_id}_read{number}",
                reference_id=reference_id,
                position=rng.randrange(0, length - span + 1),
                flag=_FLAG_REVERSE if rng.random() < 0.5 else 0,
                mapq=rng.randint(20, 60),
                cigar=cigar,
                sequence=_random_bases(rng, read_length),
                qualities=_random_qualities(rng, read_length),
                edit_distance=indel_bases + rng.randint(0, 3),
            )
        )
    reads.sort(key=lambda read: read.position)
    return reads


def _unmapped_read(rng: random.Random, number: int, read_length: int) -> _Read:
    return _Read(
        name=f"unmapped_read{number}",
        reference_id=-1,
        position=-1,
        flag=_FLAG_UNMAPPED,
        mapq=0,
        cigar=(),
        sequence=_random_bases(rng, read_length),
        qualities=_random_qualities(rng, read_length),
        edit_distance=0,
    )


def _random_bases(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("ACGT") if rng.random() > 0.002 else "N" for _ in range(count))


def _random_qualities(rng: random.Random, count: int) -> bytes:
    return bytes(rng.randint(20, 40) for _ in range(count))


def _encode_read(read: _Read) -> bytes:
    """Encode one BAM record, including its leading block_size field."""
    name = read.name.encode("ascii") + b"\0"
    if read.reference_id < 0:
        bin_number = UNPLACED_BIN
    else:
        bin_number = reg2bin(read.position, read.position + read.reference_span)
    fixed = struct.pack(
        "<iiBBHHHiiii",
        read.reference_id,
        read.position,
        len(name),
        read.mapq,
        bin_number,
        len(read.cigar),
        read.flag,
        len(read.sequence),
        -1,
        -1,
        0,
    )
    cigar = b"".join(struct.pack("<I", size << 4 | _CIGAR_CODES[op]) for size, op in read.cigar)
    tags = b"RGZ" + READ_GROUP.encode("ascii") + b"\0"
    if read.reference_id >= 0:
        tags += b"NMC" + bytes([read.edit_distance])
    body = fixed + name + cigar + _pack_sequence(read.sequence) + read.qualities + tags
    return struct.pack("<i", len(body)) + body


def _pack_sequence(sequence: str) -> bytes:
    """Pack bases two per byte, high nibble first, as BAM stores them."""
    codes = [_SEQ_CODES[base] for base in sequence]
    if len(codes) % 2:
        codes.append(0)
    return bytes(codes[i] << 4 | codes[i + 1] for i in range(0, len(codes), 2))
