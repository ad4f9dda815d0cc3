"""Deterministic sample VCF files, bgzipped, with their TBI index, in pure Python."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from adapters.formats.bgzf_writer import BgzfWriter
from adapters.formats.binning_index import BinningIndex, check_references

_HEADER_DEFINITIONS = (
    '##FILTER=<ID=PASS,Description="All filters passed">',
    '##FILTER=<ID=q10,Description="Quality below 10">',
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total read depth">',
    '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
)
_GENOTYPES = ("0/0", "0/1", "1/1", "0|1", "1|0", "./.")
_MAX_DELETION = 4
"""Maximum number of bases a sample deletion removes (REF is one base longer)."""


def write_sample_vcf(
    path: Path,
    *,
    references: Sequence[tuple[str, int]],
    records_per_reference: int,
    samples: Sequence[str],
    seed: int = 0,
) -> None:
    """Write a bgzipped VCF 4.3 of random variants to `path` and its TBI to `path.tbi`.

    On the same Python version, the same arguments produce the same bytes.
    """
    _check_arguments(references, records_per_reference, samples)
    rng = random.Random(seed)
    indexed = [name for name, _length in references] if records_per_reference else []
    index = BinningIndex(len(indexed))
    with open(path, "wb") as stream:
        writer = BgzfWriter(stream)
        writer.write(_header_text(references, samples).encode("utf-8"))
        writer.flush()
        for reference_id, (name, length) in enumerate(references if indexed else ()):
            records = _records(rng, name, length, records_per_reference, samples)
            for position, line, ref_length in records:
                offsets = writer.write_record(line.encode("utf-8"))
                index.add(reference_id, position - 1, position - 1 + ref_length, offsets)
        writer.close()
    Path(f"{path}.tbi").write_bytes(index.tbi(indexed))


def _check_arguments(
    references: Sequence[tuple[str, int]], records_per_reference: int, samples: Sequence[str]
) -> None:
    check_references(references)
    if records_per_reference < 0:
        raise ValueError(f"records_per_reference is {records_per_reference}, below 0")
    for name, length in references:
        if length < records_per_reference + _MAX_DELETION:
            raise ValueError(
                f"reference {name!r} has length {length}, too short for "
                f"{records_per_reference} records at distinct positions; use a length of at "
                f"least {records_per_reference + _MAX_DELETION}"
            )
    if len(set(samples)) != len(samples):
        raise ValueError(f"sample names must be unique: {list(samples)}")
    for sample in samples:
        if not sample or any(char.isspace() for char in sample):
            raise ValueError(f"invalid sample name {sample!r}: use a name without whitespace")


def _header_text(references: Sequence[tuple[str, int]], samples: Sequence[str]) -> str:
    lines = ["##fileformat=VCFv4.3", "##source=consentry"]
    lines.extend(f"##contig=<ID={name},length={length}>" for name, length in references)
    lines.extend(_HEADER_DEFINITIONS)
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if samples:
        columns += ["FORMAT", *samples]
    lines.append("\t".join(columns))
    return "\n".join(lines) + "\n"


def _records(
    rng: random.Random, name: str, length: int, count: int, samples: Sequence[str]
) -> list[tuple[int, str, int]]:
    """Return `(POS, line, REF length)` of `count` records at distinct sorted positions."""
    last_start = length - _MAX_DELETION
    positions = sorted(rng.sample(range(1, last_start + 1), count))
    records = []
    for number, position in enumerate(positions):
        ref, alt = _random_alleles(rng)
        quality = rng.randint(5, 99)
        depth = rng.randint(10, 60)
        fields = [
            name,
            str(position),
            f"rs{number + 1}" if rng.random() < 0.3 else ".",
            ref,
            alt,
            str(quality),
            "q10" if quality < 10 else "PASS",
            f"DP={depth};AF={rng.choice(('0.5', '1', '0.25'))}",
        ]
        if samples:
            fields.append("GT:DP")
            fields.extend(f"{rng.choice(_GENOTYPES)}:{rng.randint(1, depth)}" for _ in samples)
        records.append((position, "\t".join(fields) + "\n", len(ref)))
    return records


def _random_alleles(rng: random.Random) -> tuple[str, str]:
    """Return REF and ALT of a SNV, an insertion or a deletion."""
    first = rng.choice("ACGT")
    kind = rng.random()
    if kind < 0.7:
        return first, rng.choice([base for base in "ACGT" if base != first])
    extra = "".join(rng.choice("ACGT") for _ in range(rng.randint(1, _MAX_DELETION)))
    if kind < 0.85:
        return first, first + extra
    return first + extra, first
