"""Tests for the bin arithmetic and the region query shared by BAI, CSI and TBI."""

from __future__ import annotations

import random

import pytest

from adapters.formats.bgzf import VirtualOffset
from adapters.indexes.binning import (
    BinningIndex,
    ReferenceBins,
    bin_limit,
    pseudo_bin,
    reg2bins,
)
from adapters.indexes.model import Chunk


def brute_force_bins(start: int, end: int, min_shift: int, depth: int) -> list[int]:
    """List the bins overlapping [start, end) by testing every bin of every level."""
    bins = []
    first = 0
    for level in range(depth + 1):
        size = 1 << (min_shift + 3 * (depth - level))
        bins += [first + k for k in range(8**level) if k * size < end and (k + 1) * size > start]
        first += 8**level
    return bins


def vo(value: int) -> VirtualOffset:
    return VirtualOffset.from_int(value)


def make_index(reference: ReferenceBins, *, min_shift: int = 14, depth: int = 5) -> BinningIndex:
    return BinningIndex("BAI", min_shift, depth, [reference], unmapped=3)


def test_pseudo_bin_of_bai_tree() -> None:
    assert pseudo_bin(5) == 37450


def test_bin_limit_of_bai_tree() -> None:
    assert bin_limit(5) == 37448


def test_reg2bins_first_base() -> None:
    assert reg2bins(0, 1, 14, 5) == [0, 1, 9, 73, 585, 4681]


def test_reg2bins_across_leaf_border() -> None:
    assert reg2bins(16383, 16385, 14, 5) == [0, 1, 9, 73, 585, 4681, 4682]


def test_reg2bins_empty_region() -> None:
    assert reg2bins(100, 100, 14, 5) == []


def test_reg2bins_clamps_to_tree() -> None:
    assert reg2bins((1 << 29) - 1, 1 << 40, 14, 5) == [0, 8, 72, 584, 4680, 37448]


@pytest.mark.parametrize(("min_shift", "depth"), [(4, 3), (2, 4), (6, 1), (3, 0)])
def test_reg2bins_matches_brute_force(min_shift: int, depth: int) -> None:
    rng = random.Random(min_shift * 10 + depth)
    limit = 1 << (min_shift + 3 * depth)
    for _ in range(300):
        start = rng.randrange(limit)
        end = rng.randrange(start + 1, limit + 1)
        assert reg2bins(start, end, min_shift, depth) == brute_force_bins(
            start, end, min_shift, depth
        ), (start, end)


def test_query_merges_overlapping_and_adjacent_chunks() -> None:
    reference = ReferenceBins({4681: (100, 200, 300, 400), 585: (150, 300), 0: (500, 600)})
    chunks = make_index(reference).query(0, 0, 10)
    assert chunks == [Chunk(vo(100), vo(400)), Chunk(vo(500), vo(600))]


def test_query_drops_chunks_before_linear_offset() -> None:
    reference = ReferenceBins({0: (10, 50, 60, 90)}, linear=(0, 50))
    assert make_index(reference).query(0, 16384, 16400) == [Chunk(vo(60), vo(90))]


def test_query_keeps_chunk_ending_after_linear_offset() -> None:
    reference = ReferenceBins({0: (10, 51)}, linear=(0, 50))
    assert make_index(reference).query(0, 16384, 16400) == [Chunk(vo(10), vo(51))]


def test_query_past_linear_index_uses_last_entry() -> None:
    reference = ReferenceBins({0: (10, 50, 60, 90)}, linear=(0, 50))
    assert make_index(reference).query(0, 10_000_000, 10_000_001) == [Chunk(vo(60), vo(90))]


def test_query_skips_bins_outside_region() -> None:
    reference = ReferenceBins({4681: (100, 200), 4682: (300, 400)})
    assert make_index(reference).query(0, 16384, 16385) == [Chunk(vo(300), vo(400))]


def test_query_uses_loffset_of_deepest_bin() -> None:
    # Tree with min_shift 4 and depth 2: leaves of 16 positions, bins 9..72.
    reference = ReferenceBins({0: (5, 20, 40, 80)}, loffsets={1: 10, 10: 30})
    index = make_index(reference, min_shift=4, depth=2)
    assert index.query(0, 17, 18) == [Chunk(vo(40), vo(80))]


def test_query_falls_back_to_ancestor_loffset() -> None:
    reference = ReferenceBins({0: (5, 10, 40, 80)}, loffsets={1: 10})
    index = make_index(reference, min_shift=4, depth=2)
    assert index.query(0, 33, 34) == [Chunk(vo(40), vo(80))]


@pytest.mark.parametrize("ref_id", [-1, 1, 99])
def test_query_unknown_reference(ref_id: int) -> None:
    reference = ReferenceBins({0: (5, 10)})
    assert make_index(reference).query(ref_id, 0, 100) == []


@pytest.mark.parametrize(("start", "end"), [(10, 10), (20, 10), (1 << 29, 1 << 30)])
def test_query_empty_or_outside_region(start: int, end: int) -> None:
    reference = ReferenceBins({0: (5, 10)})
    assert make_index(reference).query(0, start, end) == []


def test_query_clamps_end_to_max_position() -> None:
    reference = ReferenceBins({37448: (5, 10)})
    assert make_index(reference).query(0, (1 << 29) - 1, 1 << 60) == [Chunk(vo(5), vo(10))]


def test_max_end_includes_pseudo_bin() -> None:
    reference = ReferenceBins({0: (5, 10)}, metadata=(5, 99, 1, 0))
    assert make_index(reference).max_end() == vo(99)


def test_first_begin_is_smallest_begin() -> None:
    reference = ReferenceBins({0: (50, 60), 4681: (7, 9)})
    assert make_index(reference).first_begin() == vo(7)


def test_extent_without_chunks_is_none() -> None:
    index = make_index(ReferenceBins({0: ()}))
    assert index.max_end() is None


def test_unmapped_count_is_stored_value() -> None:
    assert make_index(ReferenceBins({})).unmapped_count() == 3
