"""Merging and splitting of ticket parts."""

from __future__ import annotations

from service.htsget.parts import ByteRange, Inline, merge_parts


def test_adjacent_and_overlapping_ranges_merge() -> None:
    parts = [ByteRange(0, 10), ByteRange(10, 20), ByteRange(15, 30), ByteRange(40, 50)]

    assert merge_parts(parts, max_range=1000) == [ByteRange(0, 30), ByteRange(40, 50)]


def test_ranges_of_different_class_stay_apart() -> None:
    parts = [ByteRange(0, 10, "header"), ByteRange(10, 20, "body")]

    assert merge_parts(parts, max_range=1000) == parts


def test_inline_blocks_join_and_break_ranges() -> None:
    parts = [ByteRange(0, 10), Inline(b"a"), Inline(b"b"), ByteRange(10, 20)]

    merged = merge_parts(parts, max_range=1000)

    assert merged == [ByteRange(0, 10), Inline(b"ab"), ByteRange(10, 20)]


def test_empty_parts_are_dropped() -> None:
    parts = [ByteRange(5, 5), Inline(b""), ByteRange(7, 3)]

    assert merge_parts(parts, max_range=1000) == []


def test_long_ranges_are_split_at_the_limit() -> None:
    merged = merge_parts([ByteRange(0, 25)], max_range=10)

    assert merged == [ByteRange(0, 10), ByteRange(10, 20), ByteRange(20, 25)]
