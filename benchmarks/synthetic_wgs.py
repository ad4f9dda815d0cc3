"""Write a coordinate-sorted, indexed BAM with evenly spaced reads on every contig of a header.

The reads are 100 bp, unpaired, mapped forward with CIGAR 100M, and have
pseudo-random bases from a seeded generator, so the file compresses like
sequencing data rather than like a repeated string and the same options
always give the same file. With one read every `spacing` bp, every 16 kbp
window of the BAI linear index has an entry as long as `spacing` is below
16384.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

READ_LENGTH = 100
BASE_POOL_BYTES = 1 << 20
_TO_BASES = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)


@dataclass(frozen=True)
class Contig:
    """One reference sequence: its name and length in bp."""

    name: str
    length: int


@dataclass(frozen=True)
class GeneratedBam:
    """Paths and contents of a generated BAM and its BAI."""

    bam: Path
    bai: Path
    reads: int
    contigs: int


def header_contigs(bam: Path) -> list[Contig]:
    """Return the `@SQ` names and lengths of an existing BAM, read with samtools."""
    header = subprocess.run(
        ["samtools", "view", "-H", str(bam)], capture_output=True, text=True, check=True
    ).stdout
    contigs = []
    for line in header.splitlines():
        if not line.startswith("@SQ"):
            continue
        fields = dict(field.split(":", 1) for field in line.split("\t")[1:] if ":" in field)
        contigs.append(Contig(fields["SN"], int(fields["LN"])))
    if not contigs:
        raise ValueError(f"{bam} has no @SQ lines, so it names no contigs to place reads on")
    return contigs


def sam_lines(contigs: list[Contig], spacing: int, seed: int) -> Iterator[str]:
    """Yield the SAM header, then one read every `spacing` bp of each contig, in file order."""
    yield "@HD\tVN:1.6\tSO:coordinate\n"
    for contig in contigs:
        yield f"@SQ\tSN:{contig.name}\tLN:{contig.length}\n"
    rng = random.Random(seed)
    pool = rng.randbytes(BASE_POOL_BYTES).translate(_TO_BASES).decode("ascii")
    number = 0
    for contig in contigs:
        for position in range(1, contig.length - READ_LENGTH + 2, spacing):
            offset = rng.randrange(BASE_POOL_BYTES - READ_LENGTH)
            bases = pool[offset : offset + READ_LENGTH]
            yield (
                f"r{number}\t0\t{contig.name}\t{position}\t60\t{READ_LENGTH}M\t*\t0\t0\t"
                f"{bases}\t*\n"
            )
            number += 1


def write_bam(contigs: list[Contig], spacing: int, target: Path, seed: int = 1) -> GeneratedBam:
    """Pipe generated SAM text through `samtools view -b`, then build the BAI."""
    if not 1 <= spacing < 16384:
        raise ValueError(f"spacing {spacing} bp must be 1..16383 to fill every linear index window")
    with subprocess.Popen(
        ["samtools", "view", "--threads", "2", "-b", "-o", str(target), "-"],
        stdin=subprocess.PIPE, text=True,
    ) as samtools:
        assert samtools.stdin is not None
        batch: list[str] = []
        for line in sam_lines(contigs, spacing, seed):
            batch.append(line)
            if len(batch) == 10000:
                samtools.stdin.write("".join(batch))
                batch.clear()
        samtools.stdin.write("".join(batch))
        samtools.stdin.close()
    if samtools.returncode != 0:
        raise RuntimeError(f"samtools view -b failed with code {samtools.returncode}")
    subprocess.run(["samtools", "index", str(target)], check=True)
    reads = sum(
        len(range(1, contig.length - READ_LENGTH + 2, spacing)) for contig in contigs
    )
    return GeneratedBam(target, Path(f"{target}.bai"), reads, len(contigs))
