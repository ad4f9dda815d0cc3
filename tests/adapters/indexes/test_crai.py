"""Tests for the CRAI reader."""

from __future__ import annotations

import gzip
import random

import pytest

from adapters.errors import FormatError
from adapters.indexes.crai import CraiEntry, CraiIndex, parse_crai
from tests.adapters.indexes.damage import flips, truncations, unexpected_errors
from tests.support import shared_file

CRAI_NAME = "htsnexus_test_NA12878.cram.crai"


@pytest.fixture(scope="module")
def shared_crai() -> CraiIndex:
    return parse_crai(shared_file(CRAI_NAME).read_bytes())


@pytest.fixture
def synthetic_crai() -> CraiIndex:
    """Slices of reference 0 at 1-based 1-100, 101-200 and 150-249, and one unplaced slice."""
    entries = (
        CraiEntry(0, 1, 100, 1000, 10, 50),
        CraiEntry(0, 101, 100, 2000, 10, 50),
        CraiEntry(0, 150, 100, 2000, 70, 50),
        CraiEntry(1, 1, 1_000, 3000, 10, 50),
        CraiEntry(-1, 0, 0, 4000, 10, 50),
    )
    return CraiIndex(entries)


def test_shared_crai_matches_zcat(shared_crai: CraiIndex) -> None:
    text = gzip.decompress(shared_file(CRAI_NAME).read_bytes()).decode()
    rows = [tuple(int(field) for field in line.split("\t")) for line in text.splitlines()]
    assert [tuple(vars(entry).values()) for entry in shared_crai.entries] == rows


def test_shared_crai_unplaced_offsets(shared_crai: CraiIndex) -> None:
    assert shared_crai.unplaced_offsets() == [1_324_614, 1_601_527]


def test_shared_crai_container_offsets(shared_crai: CraiIndex) -> None:
    assert shared_crai.container_offsets() == [
        6134,
        480_538,
        625_728,
        1_108_541,
        1_324_614,
        1_601_527,
    ]


def test_shared_crai_query_first_slice_only(shared_crai: CraiIndex) -> None:
    # Reference 10 (contig 11) has slices at 4999976+68584 and 5068484+31481.
    assert shared_crai.query(10, 0, 5_068_483) == [6134]


def test_shared_crai_query_both_slices(shared_crai: CraiIndex) -> None:
    assert shared_crai.query(10, 5_068_483, 5_068_484) == [6134, 480_538]


def test_shared_crai_query_other_contig(shared_crai: CraiIndex) -> None:
    assert shared_crai.query(19, 0, 1 << 40) == [625_728, 1_108_541]


@pytest.mark.parametrize(
    ("ref_id", "start", "end", "expected"),
    [
        (0, 0, 1, [1000]),
        (0, 99, 100, [1000]),
        (0, 100, 101, [2000]),
        (0, 99, 101, [1000, 2000]),
        (0, 200, 249, [2000]),
        (0, 249, 300, []),
        (0, 0, 1_000, [1000, 2000]),
        (1, 500, 501, [3000]),
        (0, 50, 50, []),
        (2, 0, 100, []),
        (-1, 0, 100, []),
    ],
)
def test_crai_query_semantics(
    synthetic_crai: CraiIndex, ref_id: int, start: int, end: int, expected: list[int]
) -> None:
    assert synthetic_crai.query(ref_id, start, end) == expected


def test_crai_unplaced_offsets(synthetic_crai: CraiIndex) -> None:
    assert synthetic_crai.unplaced_offsets() == [4000]


def test_crai_container_offsets_distinct(synthetic_crai: CraiIndex) -> None:
    assert synthetic_crai.container_offsets() == [1000, 2000, 3000, 4000]


def test_crai_zero_span_slice_still_matches() -> None:
    index = CraiIndex((CraiEntry(0, 10, 0, 500, 1, 1),))
    assert index.query(0, 9, 10) == [500]


def test_crai_empty_gzip_has_no_entries() -> None:
    assert parse_crai(gzip.compress(b"")).entries == ()


def test_crai_blank_lines_skipped() -> None:
    index = parse_crai(gzip.compress(b"0\t1\t10\t100\t5\t20\n\n"))
    assert len(index.entries) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"0\t1\t10\t100\t5\n", "5 tab-separated fields"),
        (b"0\t1\tx\t100\t5\t20\n", "not an integer"),
        (b"-2\t1\t10\t100\t5\t20\n", "reference id -2"),
        (b"0\t1\t10\t-100\t5\t20\n", "negative"),
        (b"0\t1\t10\t100\t5\t\xff\n", "not ASCII"),
    ],
)
def test_crai_invalid_line(text: bytes, problem: str) -> None:
    with pytest.raises(FormatError, match=problem):
        parse_crai(gzip.compress(text))


def test_crai_error_names_line_number() -> None:
    with pytest.raises(FormatError, match="line 2"):
        parse_crai(gzip.compress(b"0\t1\t10\t100\t5\t20\n0\t1\n"))


def test_crai_empty_file() -> None:
    with pytest.raises(FormatError, match="empty"):
        parse_crai(b"")


def test_crai_plain_text_rejected() -> None:
    with pytest.raises(FormatError):
        parse_crai(b"0\t1\t10\t100\t5\t20\n")


def test_crai_truncations_raise_format_error() -> None:
    data = shared_file(CRAI_NAME).read_bytes()
    assert unexpected_errors(parse_crai, truncations(data, limit=len(data))) == []


def test_crai_damage_raises_format_error() -> None:
    data = shared_file(CRAI_NAME).read_bytes()
    text = gzip.decompress(data)
    variants = list(flips(data, seed=8)) + [gzip.compress(d) for d in flips(text, seed=9)]
    assert unexpected_errors(parse_crai, iter(variants)) == []


def test_crai_random_bytes_raise_format_error() -> None:
    rng = random.Random(10)
    variants = (rng.randbytes(rng.randrange(1, 100)) for _ in range(300))
    assert unexpected_errors(parse_crai, variants) == []
