"""Regions of the shared BAM and the check that a query covers what samtools prints."""

from __future__ import annotations

import random
from pathlib import Path

from adapters.indexes.binning import BinningIndex
from tests.adapters.indexes.tools import BIN_EDGES, region_string, samtools_reads
from tests.adapters.indexes.walkers import BgzfFile, bam_records

# Reference id, name, length and the span that contains reads, from `samtools idxstats`.
BAM_CONTIGS = {
    10: ("11", 135_006_516, 4_999_000, 5_100_000),
    19: ("20", 63_025_520, 5_999_000, 6_100_000),
}
PLACED_READS = {10: 12_789 + 109, 19: 14_425 + 120}
UNPLACED_READS = 12_475


def bam_regions(ref_id: int) -> list[tuple[int, int]]:
    """Return 0-based half-open regions: whole, tiny, bin borders, past the end, random."""
    _name, length, low, high = BAM_CONTIGS[ref_id]
    regions = [(0, length), (low, low + 100), (5_010_000, 5_010_001), (16_383, 16_385)]
    regions += [(length - 1_000, length + 5_000_000), (6_000_000, 6_000_001)]
    for edge in BIN_EDGES[:3]:
        border = -(-low // edge) * edge
        regions += [(border - 1, border), (border, border + 1), (border - 2, border + 2)]
    rng = random.Random(ref_id)
    for _ in range(15):
        start = rng.randrange(low, high)
        regions.append((start, start + rng.choice((1, 50, 1_000, 30_000))))
    return regions


BAM_CASES = [(ref_id, region) for ref_id in BAM_CONTIGS for region in bam_regions(ref_id)]


def assert_query_covers_samtools(
    index: BinningIndex, bam: BgzfFile, path: Path, ref_id: int, region: tuple[int, int]
) -> None:
    """Check that the chunks for a region contain every read samtools prints for it."""
    name = BAM_CONTIGS[ref_id][0]
    expected = samtools_reads(path, region_string(name, *region))
    found = bam_records(bam, index.query(ref_id, *region))
    missing = expected - found
    assert not missing, f"{len(missing)} reads of {name}:{region} missing, e.g. {min(missing)}"
