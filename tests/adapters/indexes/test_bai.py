"""Tests for the BAI reader against the shared BAM and samtools."""

from __future__ import annotations

import itertools
import random
import struct
import time
from pathlib import Path

import pytest

from adapters.errors import FormatError
from adapters.indexes.bai import parse_bai
from adapters.indexes.binning import BinningIndex
from tests.adapters.indexes.bam_cases import (
    BAM_CASES,
    BAM_CONTIGS,
    PLACED_READS,
    UNPLACED_READS,
    assert_query_covers_samtools,
)
from tests.adapters.indexes.damage import flips, truncations, unexpected_errors
from tests.adapters.indexes.walkers import BgzfFile, bam_records
from tests.support import shared_file


@pytest.fixture(scope="module")
def bai() -> BinningIndex:
    return parse_bai(shared_file("htsnexus_test_NA12878.bam.bai").read_bytes())


def test_shared_bai_reference_count(bai: BinningIndex) -> None:
    assert bai.n_references == 86


def test_shared_bai_unmapped_count(bai: BinningIndex) -> None:
    assert bai.unmapped_count() == UNPLACED_READS


def test_shared_bai_tree_shape(bai: BinningIndex) -> None:
    assert (bai.kind, bai.min_shift, bai.depth, bai.max_position) == ("BAI", 14, 5, 1 << 29)


def test_shared_bai_has_no_names(bai: BinningIndex) -> None:
    assert bai.reference_names is None


@pytest.mark.parametrize(("ref_id", "region"), BAM_CASES)
def test_bai_query_covers_samtools_reads(
    bai: BinningIndex, bam_file: BgzfFile, bam_copy: Path, ref_id: int, region: tuple[int, int]
) -> None:
    assert_query_covers_samtools(bai, bam_file, bam_copy, ref_id, region)


@pytest.mark.parametrize("ref_id", BAM_CONTIGS)
def test_bai_whole_contig_exact_reads(bai: BinningIndex, bam_file: BgzfFile, ref_id: int) -> None:
    reads = bam_records(bam_file, bai.query(ref_id, 0, 1 << 29))
    assert len(reads) == PLACED_READS[ref_id]


def test_bai_tiny_region_reads_few_records(bai: BinningIndex, bam_file: BgzfFile) -> None:
    # The contig's reads fill only seven 16 kbp windows, so one window contains a large share.
    reads = bam_records(bam_file, bai.query(10, 5_010_000, 5_010_001))
    assert 0 < len(reads) < PLACED_READS[10] // 2


def test_bai_chunks_sorted_and_disjoint(bai: BinningIndex) -> None:
    chunks = bai.query(19, 6_000_000, 6_050_000)
    assert all(a.end < b.begin for a, b in itertools.pairwise(chunks))


@pytest.mark.parametrize("ref_id", [0, 21, 85])
def test_bai_contig_without_reads(bai: BinningIndex, ref_id: int) -> None:
    assert bai.query(ref_id, 0, 1 << 29) == []


def test_bai_first_begin_is_first_read(bai: BinningIndex, bam_file: BgzfFile) -> None:
    text_length = struct.unpack_from("<i", bam_file.payload, 4)[0]
    pos = 8 + text_length
    (n_ref,) = struct.unpack_from("<i", bam_file.payload, pos)
    pos += 4
    for _ in range(n_ref):
        pos += 4 + struct.unpack_from("<i", bam_file.payload, pos)[0] + 4
    first = bai.first_begin()
    assert first is not None and bam_file.position(first) == pos


def test_bai_max_end_starts_unplaced_reads(bai: BinningIndex, bam_file: BgzfFile) -> None:
    start = bai.max_end()
    assert start is not None
    reads = _records_from(bam_file, bam_file.position(start))
    assert len(reads) == UNPLACED_READS
    assert all(ref_id == -1 for ref_id, _flag in reads)


def _records_from(bam: BgzfFile, pos: int) -> list[tuple[int, int]]:
    records = []
    while pos < len(bam.payload):
        block_size, ref_id = struct.unpack_from("<ii", bam.payload, pos)
        (flag,) = struct.unpack_from("<H", bam.payload, pos + 18)
        records.append((ref_id, flag))
        pos += 4 + block_size
    return records


def test_bai_bad_magic() -> None:
    with pytest.raises(FormatError, match="magic"):
        parse_bai(b"BAM\x01" + bytes(8))


def test_bai_huge_reference_count() -> None:
    with pytest.raises(FormatError, match="reference count"):
        parse_bai(b"BAI\x01" + struct.pack("<i", 2**31 - 1))


def test_bai_chunk_ending_before_begin() -> None:
    data = b"BAI\x01" + struct.pack("<iiIiQQi", 1, 1, 4681, 1, 200, 100, 0)
    with pytest.raises(FormatError, match="ends before it begins"):
        parse_bai(data)


def test_bai_repeated_bin() -> None:
    bin_entry = struct.pack("<IiQQ", 4681, 1, 100, 200)
    data = b"BAI\x01" + struct.pack("<ii", 1, 2) + bin_entry * 2 + struct.pack("<i", 0)
    with pytest.raises(FormatError, match="repeated bin 4681"):
        parse_bai(data)


def test_bai_trailing_bytes() -> None:
    data = b"BAI\x01" + struct.pack("<iiiQ", 1, 0, 0, 5) + b"x"
    with pytest.raises(FormatError, match="unexpected bytes"):
        parse_bai(data)


def test_bai_truncations_raise_format_error() -> None:
    data = shared_file("htsnexus_test_NA12878.bam.bai").read_bytes()
    assert unexpected_errors(parse_bai, truncations(data, limit=len(data))) == []


def test_bai_damaged_bytes_raise_format_error() -> None:
    data = shared_file("htsnexus_test_NA12878.bam.bai").read_bytes()
    assert unexpected_errors(parse_bai, flips(data, seed=1, count=1_000)) == []


def test_bai_random_bytes_raise_format_error() -> None:
    rng = random.Random(5)
    variants = (b"BAI\x01" + rng.randbytes(rng.randrange(200)) for _ in range(500))
    assert unexpected_errors(parse_bai, variants) == []


def synthetic_wgs_bai(n_references: int = 85, total_length: int = 3_100_000_000) -> bytes:
    """Build a BAI shaped like a deep whole-genome one: every leaf bin, full linear index."""
    lengths = [total_length // 30] * 24 + [(total_length // 5) // (n_references - 24)] * (
        n_references - 24
    )
    parts = [b"BAI\x01", struct.pack("<i", n_references)]
    offset = 0
    for length in lengths:
        windows = (length >> 14) + 1
        leaf_bins = [4681 + w for w in range(windows)]
        upper_bins = sorted({585 + (w >> 3) for w in range(windows)} | {73, 9, 1, 0})
        parts.append(struct.pack("<i", len(leaf_bins) + len(upper_bins) + 1))
        linear = []
        for bin_id in leaf_bins:
            linear.append(offset)
            parts.append(
                struct.pack("<IiQQQQ", bin_id, 2, offset, offset + 900, offset + 901, offset + 2000)
            )
            offset += 1 << 16
        for bin_id in upper_bins:
            parts.append(struct.pack("<IiQQ", bin_id, 1, offset, offset + 100))
            offset += 1 << 16
        parts.append(struct.pack("<IiQQQQ", 37450, 2, 0, offset, 1000, 0))
        parts.append(struct.pack("<i", len(linear)) + struct.pack(f"<{len(linear)}Q", *linear))
    parts.append(struct.pack("<Q", 0))
    return b"".join(parts)


def test_wgs_scale_bai_parses_quickly() -> None:
    data = synthetic_wgs_bai()
    started = time.perf_counter()
    index = parse_bai(data)
    elapsed = time.perf_counter() - started
    assert len(data) > 8_000_000
    assert index.n_references == 85
    assert elapsed < 1.0, f"parsing {len(data)} bytes took {elapsed:.2f} s"


def test_wgs_scale_bai_query_is_narrow() -> None:
    index = parse_bai(synthetic_wgs_bai())
    # The two chunks of the leaf bin. The synthetic file puts the upper bins'
    # chunks after the next leaf bin's first chunk, so the right-hand bound
    # drops them, as it would for records that start after the region.
    chunks = index.query(3, 50_000_000, 50_000_001)
    assert len(chunks) == 2


def test_chunks_stop_before_next_bin() -> None:
    index = parse_bai(shared_file("htsnexus_test_NA12878.bam.bai").read_bytes())

    chunks = index.query(10, 5_012_345, 5_012_346)
    later = index.query(10, 5_050_000, 5_060_000)

    # Without the bound, bins 73, 9, 1 and 0 add chunks from all over contig 11.
    assert max(chunk.end for chunk in chunks) <= min(chunk.begin for chunk in later)
