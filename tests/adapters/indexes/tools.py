"""Test data made and read with the htslib command-line tools."""

from __future__ import annotations

import functools
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support import require_tool

BIN_EDGES = (16_384, 131_072, 1_048_576, 1 << 29)
"""Bin sizes of the BAI tree levels; tests place records and regions on their borders."""


def run(*args: str) -> str:
    """Run an htslib tool and return its standard output."""
    require_tool(args[0])
    result = subprocess.run(args, check=True, capture_output=True, text=True)
    return result.stdout


@functools.cache
def samtools_reads(bam: Path, region: str) -> frozenset[tuple[str, int, int]]:
    """Return (QNAME, POS, FLAG) of the reads `samtools view` prints for a region."""
    fields = (line.split("\t") for line in run("samtools", "view", str(bam), region).splitlines())
    return frozenset((f[0], int(f[3]), int(f[1])) for f in fields)


@functools.cache
def tabix_lines(vcf_gz: Path, region: str) -> frozenset[str]:
    """Return the lines `tabix` prints for a region of a bgzipped VCF."""
    return frozenset(run("tabix", str(vcf_gz), region).splitlines())


@functools.cache
def bcftools_positions(path: Path, region: str) -> frozenset[tuple[str, int]]:
    """Return (CHROM, POS) of the records `bcftools view -H -r` prints for a region."""
    lines = run("bcftools", "view", "-H", "-r", region, str(path)).splitlines()
    return frozenset((line.split("\t")[0], int(line.split("\t")[1])) for line in lines)


@dataclass(frozen=True)
class VariantFiles:
    """A synthetic VCF, bgzipped and as BCF, with its contigs in header order."""

    vcf_gz: Path
    bcf: Path
    contigs: dict[str, int]


def write_variants(directory: Path, contigs: dict[str, int], seed: int) -> VariantFiles:
    """Write a sorted VCF with SNVs and long deletions, then bgzip it and convert it to BCF.

    A contig named `chr3` is declared in the header but gets no records.
    """
    header = ["##fileformat=VCFv4.2"]
    header += [f"##contig=<ID={name},length={length}>" for name, length in contigs.items()]
    header += [
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
        '##ALT=<ID=DEL,Description="Deletion">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    vcf = directory / "variants.vcf"
    vcf.write_text("\n".join(header + _variant_lines(contigs, seed)) + "\n")
    run("bgzip", "-f", str(vcf))
    vcf_gz = directory / "variants.vcf.gz"
    bcf = directory / "variants.bcf"
    run("bcftools", "view", "-Ob", "-o", str(bcf), str(vcf_gz))
    run("bcftools", "index", "-c", str(bcf))
    return VariantFiles(vcf_gz, bcf, contigs)


def _variant_lines(contigs: dict[str, int], seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    number = 0
    for name, length in contigs.items():
        if name == "chr3":
            continue
        positions = {1, length}
        for edge in BIN_EDGES:
            if edge < length:
                positions.update((edge - 1, edge, edge + 1))
        positions.update(rng.randrange(1, length) for _ in range(1500))
        for pos in sorted(positions):
            number += 1
            if number % 40 == 0:
                end = min(length, pos + rng.randrange(1, 300_000))
                alt, info = "<DEL>", f"END={end}"
            else:
                alt, info = "C", "."
            lines.append(f"{name}\t{pos}\tv{number}\tA\t{alt}\t50\tPASS\t{info}")
    return lines


def variant_regions(length: int, seed: int) -> list[tuple[int, int]]:
    """Return 0-based half-open regions for one contig: whole, bin borders, past the end, random."""
    rng = random.Random(seed)
    regions = [(0, length), (length - 1, length + 10_000), (length + 5, length + 100)]
    for edge in BIN_EDGES:
        if edge < length:
            regions += [(edge - 1, edge), (edge, edge + 1), (edge - 2, edge + 2)]
    for _ in range(25):
        start = rng.randrange(0, length)
        regions.append((start, start + rng.choice((1, 100, 20_000, 400_000))))
    return regions


def region_string(name: str, start: int, end: int) -> str:
    """Format a 0-based half-open region as the 1-based inclusive string htslib tools take."""
    return f"{name}:{start + 1}-{end}"


def header_contigs(path: Path) -> list[str]:
    """Return the contig IDs of a VCF or BCF header in order, which BCF CHROM ids index."""
    lines = run("bcftools", "view", "-h", str(path)).splitlines()
    prefix = "##contig=<ID="
    return [
        line[len(prefix) :].split(",")[0].rstrip(">") for line in lines if line.startswith(prefix)
    ]
