"""Tests for the TBI reader against the shared VCFs, synthetic VCFs and tabix."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from adapters.errors import FormatError
from adapters.formats.bgzf import decompress_all
from adapters.indexes.binning import BinningIndex
from adapters.indexes.tbi import parse_tbi
from tests.adapters.indexes.damage import bgzf_wrap, flips, truncations, unexpected_errors
from tests.adapters.indexes.tools import (
    VariantFiles,
    region_string,
    run,
    tabix_lines,
    variant_regions,
)
from tests.adapters.indexes.walkers import BgzfFile, text_lines
from tests.support import shared_file

SHARED_VCFS = {"sample1-bcbio-cancer.vcf.gz": ("chrM", "chr22"), "spec-v4.3.vcf.gz": ("20",)}
SMALL_CASES = [
    (name, region)
    for seed, (name, length) in enumerate({"chr1": 2_000_000, "chr2": 500_000}.items())
    for region in variant_regions(length, seed + 10)
]


def tbi_of(path: Path) -> BinningIndex:
    return parse_tbi(Path(f"{path}.tbi").read_bytes())


def assert_covers_tabix(
    vcf_gz: Path, index: BinningIndex, name: str, region: tuple[int, int]
) -> None:
    """Check that the chunks for a region contain every line tabix prints for it."""
    assert index.reference_names is not None
    chunks = index.query(index.reference_names.index(name), *region)
    found = text_lines(BgzfFile(vcf_gz), chunks)
    missing = tabix_lines(vcf_gz, region_string(name, *region)) - found
    assert not missing, f"{len(missing)} lines of {name}:{region} missing, e.g. {min(missing)}"


@pytest.mark.parametrize(("name", "contigs"), SHARED_VCFS.items())
def test_shared_tbi_names(name: str, contigs: tuple[str, ...]) -> None:
    index = parse_tbi(shared_file(f"{name}.tbi").read_bytes())
    assert index.reference_names == contigs


@pytest.mark.parametrize("name", SHARED_VCFS)
def test_shared_tbi_tree_shape(name: str) -> None:
    index = parse_tbi(shared_file(f"{name}.tbi").read_bytes())
    assert (index.kind, index.min_shift, index.depth, index.max_position) == (
        "TBI",
        14,
        5,
        1 << 29,
    )


def test_shared_tbi_vcf_meta() -> None:
    meta = parse_tbi(shared_file("spec-v4.3.vcf.gz.tbi").read_bytes()).tabix_meta
    assert meta is not None
    assert (meta.format, meta.col_seq, meta.col_beg, meta.col_end) == (2, 1, 2, 0)
    assert (meta.meta_char, meta.skip, meta.zero_based) == ("#", 0, False)


@pytest.mark.parametrize(("name", "contigs"), SHARED_VCFS.items())
def test_shared_tbi_covers_tabix(name: str, contigs: tuple[str, ...], work_dir: Path) -> None:
    vcf_gz = work_dir / name
    vcf_gz.write_bytes(shared_file(name).read_bytes())
    Path(f"{vcf_gz}.tbi").write_bytes(shared_file(f"{name}.tbi").read_bytes())
    index = tbi_of(vcf_gz)
    for contig in contigs:
        assert_covers_tabix(vcf_gz, index, contig, (0, 1 << 29))


def test_shared_tbi_first_begin_after_header(work_dir: Path) -> None:
    path = shared_file("spec-v4.3.vcf.gz")
    index = parse_tbi(shared_file("spec-v4.3.vcf.gz.tbi").read_bytes())
    vcf = BgzfFile(path)
    first = index.first_begin()
    assert first is not None
    assert vcf.payload[vcf.position(first) :].startswith(b"20\t14370\t")


@pytest.mark.parametrize(("name", "region"), SMALL_CASES)
def test_tbi_covers_tabix_lines(
    small_variants: VariantFiles, name: str, region: tuple[int, int]
) -> None:
    assert_covers_tabix(small_variants.vcf_gz, tbi_of(small_variants.vcf_gz), name, region)


def test_tbi_contig_without_records(small_variants: VariantFiles) -> None:
    index = tbi_of(small_variants.vcf_gz)
    assert index.query(index.n_references, 0, 100) == []


def test_tbi_bed_zero_based_flag(work_dir: Path) -> None:
    bed = work_dir / "regions.bed"
    bed.write_text("chrA\t0\t100\nchrA\t20000\t20050\nchrB\t5\t6\n")
    run("bgzip", str(bed))
    run("tabix", "-p", "bed", f"{bed}.gz")
    meta = parse_tbi(Path(f"{bed}.gz.tbi").read_bytes()).tabix_meta
    assert meta is not None
    assert (meta.preset, meta.zero_based, meta.col_end, meta.names) == (
        0,
        True,
        3,
        ("chrA", "chrB"),
    )


def tbi_payload(meta: tuple[int, ...], names: bytes, n_ref: int) -> bytes:
    return b"TBI\x01" + struct.pack("<i7i", n_ref, *meta, len(names)) + names


def test_tbi_bad_magic() -> None:
    with pytest.raises(FormatError, match="magic"):
        parse_tbi(bgzf_wrap(b"TBX\x01" + bytes(40)))


def test_tbi_unknown_format() -> None:
    with pytest.raises(FormatError, match="unknown tabix format"):
        parse_tbi(bgzf_wrap(tbi_payload((7, 1, 2, 0, 35, 0), b"a\0", 1)))


def test_tbi_names_without_nul() -> None:
    with pytest.raises(FormatError, match="NUL"):
        parse_tbi(bgzf_wrap(tbi_payload((2, 1, 2, 0, 35, 0), b"ab", 1)))


def test_tbi_names_count_mismatch() -> None:
    payload = tbi_payload((2, 1, 2, 0, 35, 0), b"a\0b\0", 1) + struct.pack("<ii", 0, 0)
    with pytest.raises(FormatError, match="names 2 sequences for 1 references"):
        parse_tbi(bgzf_wrap(payload))


def test_tbi_non_ascii_meta_char() -> None:
    with pytest.raises(FormatError, match="meta character"):
        parse_tbi(bgzf_wrap(tbi_payload((2, 1, 2, 0, 300, 0), b"a\0", 1)))


@pytest.mark.parametrize("name", SHARED_VCFS)
def test_tbi_truncations_raise_format_error(name: str) -> None:
    payload = decompress_all(shared_file(f"{name}.tbi").read_bytes())
    variants = (bgzf_wrap(cut) for cut in truncations(payload, limit=len(payload)))
    assert unexpected_errors(parse_tbi, variants) == []


def test_tbi_damage_raises_format_error(small_variants: VariantFiles) -> None:
    payload = decompress_all(Path(f"{small_variants.vcf_gz}.tbi").read_bytes())
    variants = (bgzf_wrap(damaged) for damaged in flips(payload, seed=6, count=600))
    assert unexpected_errors(parse_tbi, variants) == []


def test_compressed_tbi_damage_raises_format_error() -> None:
    data = shared_file("sample1-bcbio-cancer.vcf.gz.tbi").read_bytes()
    variants = list(truncations(data, limit=len(data))) + list(flips(data, seed=7))
    assert unexpected_errors(parse_tbi, iter(variants)) == []
