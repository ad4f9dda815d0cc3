"""Tests for the CSI reader on BAM, BCF and bgzipped VCF files made by htslib tools."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from adapters.errors import FormatError
from adapters.formats.bgzf import decompress_all
from adapters.indexes.bai import parse_bai
from adapters.indexes.binning import BinningIndex
from adapters.indexes.csi import parse_csi
from tests.adapters.indexes.bam_cases import BAM_CASES, assert_query_covers_samtools
from tests.adapters.indexes.damage import bgzf_wrap, flips, truncations, unexpected_errors
from tests.adapters.indexes.tools import (
    VariantFiles,
    bcftools_positions,
    header_contigs,
    region_string,
    tabix_lines,
    variant_regions,
)
from tests.adapters.indexes.walkers import BgzfFile, bcf_records, text_lines
from tests.support import shared_file

SHARED_BCFS = {"sample1-bcbio-cancer.bcf": "chrM", "spec-v4.3.bcf": "20"}
SMALL_CASES = [
    (name, region)
    for seed, (name, length) in enumerate({"chr1": 2_000_000, "chr2": 500_000}.items())
    for region in variant_regions(length, seed)
]
BIG_CASES = [("big", region) for region in variant_regions(1_500_000_000, 3)]


def csi_of(path: Path) -> BinningIndex:
    return parse_csi(Path(f"{path}.csi").read_bytes())


def assert_bcf_covers_bcftools(bcf: Path, name: str, region: tuple[int, int]) -> None:
    """Check that the BCF CSI chunks for a region contain every record bcftools prints."""
    contigs = header_contigs(bcf)
    index = csi_of(bcf)
    chunks = index.query(contigs.index(name), *region)
    found = {(contigs[chrom], pos) for chrom, pos in bcf_records(BgzfFile(bcf), chunks)}
    missing = bcftools_positions(bcf, region_string(name, *region)) - found
    assert not missing, f"{len(missing)} records of {name}:{region} missing, e.g. {min(missing)}"


def assert_vcf_covers_tabix(vcf_gz: Path, name: str, region: tuple[int, int]) -> None:
    """Check that the tabix CSI chunks for a region contain every line tabix prints."""
    index = csi_of(vcf_gz)
    assert index.reference_names is not None
    chunks = index.query(index.reference_names.index(name), *region)
    missing = tabix_lines(vcf_gz, region_string(name, *region)) - text_lines(
        BgzfFile(vcf_gz), chunks
    )
    assert not missing, f"{len(missing)} lines of {name}:{region} missing, e.g. {min(missing)}"


@pytest.mark.parametrize("name", SHARED_BCFS)
def test_shared_bcf_csi_tree_shape(name: str) -> None:
    index = parse_csi(shared_file(f"{name}.csi").read_bytes())
    assert (index.kind, index.min_shift, index.reference_names) == ("CSI", 14, None)


@pytest.mark.parametrize(("name", "contig"), SHARED_BCFS.items())
def test_shared_bcf_csi_covers_bcftools(name: str, contig: str, work_dir: Path) -> None:
    bcf = work_dir / name
    bcf.write_bytes(shared_file(name).read_bytes())
    Path(f"{bcf}.csi").write_bytes(shared_file(f"{name}.csi").read_bytes())
    assert_bcf_covers_bcftools(bcf, contig, (0, 1 << 30))


def test_bam_csi_tree_shape(bam_csi: bytes) -> None:
    index = parse_csi(bam_csi)
    assert (index.min_shift, index.depth, index.n_references) == (14, 5, 86)


def test_bam_csi_unmapped_count(bam_csi: bytes) -> None:
    assert parse_csi(bam_csi).unmapped_count() == 12_475


def test_bam_csi_shift12_is_deeper(bam_csi_shift12: bytes) -> None:
    index = parse_csi(bam_csi_shift12)
    assert (index.min_shift, index.depth) == (12, 6)


@pytest.mark.parametrize(("ref_id", "region"), BAM_CASES)
def test_bam_csi_covers_samtools_reads(
    bam_csi: bytes, bam_file: BgzfFile, bam_copy: Path, ref_id: int, region: tuple[int, int]
) -> None:
    assert_query_covers_samtools(parse_csi(bam_csi), bam_file, bam_copy, ref_id, region)


@pytest.mark.parametrize(("ref_id", "region"), BAM_CASES)
def test_bam_csi_shift12_covers_samtools_reads(
    bam_csi_shift12: bytes,
    bam_file: BgzfFile,
    bam_copy: Path,
    ref_id: int,
    region: tuple[int, int],
) -> None:
    index = parse_csi(bam_csi_shift12)
    assert_query_covers_samtools(index, bam_file, bam_copy, ref_id, region)


def test_bam_csi_max_end_matches_bai(bam_csi: bytes) -> None:
    bai = parse_bai(shared_file("htsnexus_test_NA12878.bam.bai").read_bytes())
    assert parse_csi(bam_csi).max_end() == bai.max_end()


def test_tabix_csi_has_names(small_variants: VariantFiles) -> None:
    assert csi_of(small_variants.vcf_gz).reference_names == ("chr1", "chr2")


def test_tabix_csi_meta_is_vcf(small_variants: VariantFiles) -> None:
    meta = csi_of(small_variants.vcf_gz).tabix_meta
    assert meta is not None
    assert (meta.preset, meta.col_seq, meta.col_beg, meta.meta_char) == (2, 1, 2, "#")


@pytest.mark.parametrize(("name", "region"), SMALL_CASES)
def test_tabix_csi_covers_tabix_lines(
    small_variants: VariantFiles, name: str, region: tuple[int, int]
) -> None:
    assert_vcf_covers_tabix(small_variants.vcf_gz, name, region)


@pytest.mark.parametrize(("name", "region"), SMALL_CASES)
def test_bcf_csi_covers_bcftools(
    small_variants: VariantFiles, name: str, region: tuple[int, int]
) -> None:
    assert_bcf_covers_bcftools(small_variants.bcf, name, region)


def test_big_contig_csi_tree_shape(big_variants: VariantFiles) -> None:
    index = csi_of(big_variants.vcf_gz)
    assert (index.min_shift, index.depth) == (12, 7)


@pytest.mark.parametrize(("name", "region"), BIG_CASES)
def test_big_contig_csi_covers_tabix_lines(
    big_variants: VariantFiles, name: str, region: tuple[int, int]
) -> None:
    assert_vcf_covers_tabix(big_variants.vcf_gz, name, region)


@pytest.mark.parametrize(("name", "region"), BIG_CASES)
def test_big_contig_bcf_csi_covers_bcftools(
    big_variants: VariantFiles, name: str, region: tuple[int, int]
) -> None:
    assert_bcf_covers_bcftools(big_variants.bcf, name, region)


def test_big_contig_whole_query_finds_all(big_variants: VariantFiles) -> None:
    index = csi_of(big_variants.vcf_gz)
    lines = text_lines(BgzfFile(big_variants.vcf_gz), index.query(0, 0, index.max_position))
    assert len(lines) == len(tabix_lines(big_variants.vcf_gz, "big"))


def csi_payload(min_shift: int, depth: int, aux: bytes = b"", n_ref: int = 0) -> bytes:
    """Build an uncompressed CSI whose references have no bins."""
    header = b"CSI\x01" + struct.pack("<iii", min_shift, depth, len(aux)) + aux
    return header + struct.pack("<i", n_ref) + struct.pack("<i", 0) * n_ref


@pytest.mark.parametrize(("min_shift", "depth"), [(0, 5), (14, -1), (14, 11), (40, 8)])
def test_csi_unsupported_tree(min_shift: int, depth: int) -> None:
    with pytest.raises(FormatError, match="unsupported min_shift"):
        parse_csi(bgzf_wrap(csi_payload(min_shift, depth)))


def test_csi_aux_not_tabix_header() -> None:
    with pytest.raises(FormatError, match="tabix"):
        parse_csi(bgzf_wrap(csi_payload(14, 5, aux=b"xyz")))


def test_csi_names_mismatch_references() -> None:
    aux = struct.pack("<7i", 2, 1, 2, 0, 35, 0, 4) + b"a\0b\0"
    with pytest.raises(FormatError, match="names 2 sequences for 1 references"):
        parse_csi(bgzf_wrap(csi_payload(14, 5, aux=aux, n_ref=1)))


def test_csi_empty_sequence_name() -> None:
    aux = struct.pack("<7i", 2, 1, 2, 0, 35, 0, 3) + b"a\0\0"
    with pytest.raises(FormatError, match="empty sequence name"):
        parse_csi(bgzf_wrap(csi_payload(14, 5, aux=aux, n_ref=2)))


def test_csi_empty_index_has_no_extent() -> None:
    assert parse_csi(bgzf_wrap(csi_payload(14, 5))).max_end() is None


def test_csi_not_gzip() -> None:
    with pytest.raises(FormatError):
        parse_csi(b"CSI\x01" + bytes(20))


@pytest.mark.parametrize("name", ["sample1-bcbio-cancer.bcf.csi", "spec-v4.3.bcf.csi"])
def test_csi_truncations_raise_format_error(name: str) -> None:
    payload = decompress_all(shared_file(name).read_bytes())
    variants = (bgzf_wrap(cut) for cut in truncations(payload, limit=len(payload)))
    assert unexpected_errors(parse_csi, variants) == []


def test_tabix_csi_damage_raises_format_error(small_variants: VariantFiles) -> None:
    payload = decompress_all(Path(f"{small_variants.vcf_gz}.csi").read_bytes())
    variants = (bgzf_wrap(damaged) for damaged in flips(payload, seed=2, count=600))
    assert unexpected_errors(parse_csi, variants) == []


def test_bam_csi_damage_raises_format_error(bam_csi: bytes) -> None:
    payload = decompress_all(bam_csi)
    assert unexpected_errors(parse_csi, (bgzf_wrap(d) for d in flips(payload, seed=3))) == []


def test_compressed_csi_damage_raises_format_error(bam_csi: bytes) -> None:
    variants = list(truncations(bam_csi, limit=300)) + list(flips(bam_csi, seed=4, count=300))
    assert unexpected_errors(parse_csi, iter(variants)) == []
