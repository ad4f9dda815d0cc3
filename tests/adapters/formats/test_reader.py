"""Tests for the growing-slice fetch loop and the BGZF prefix decoder."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest

from adapters.errors import FormatError
from adapters.formats.bgzf import BGZF_EOF, MAX_PAYLOAD, VirtualOffset, compress
from adapters.formats.reader import (
    FIRST_SLICE,
    MAX_HEADER_SIZE,
    BgzfPrefix,
    ByteCursor,
    Incomplete,
    parse_bgzf_prefix,
)
from tests.adapters.formats.tools import MemoryReader, bgzf_file


def _decoded(data: bytes) -> BgzfPrefix:
    prefix = BgzfPrefix("test")
    prefix.extend(MemoryReader(data), len(data), len(data))
    return prefix


def test_virtual_offset_inside_block() -> None:
    data = compress(b"a" * 100) + compress(b"b" * 50) + BGZF_EOF
    prefix = _decoded(data)
    second = prefix.blocks[1].coffset
    assert prefix.virtual_offset(130) == VirtualOffset(second, 30)


def test_virtual_offset_at_block_end_is_next_block() -> None:
    data = compress(b"a" * 100) + compress(b"b" * 50) + BGZF_EOF
    prefix = _decoded(data)
    assert prefix.virtual_offset(100) == VirtualOffset(prefix.blocks[1].coffset, 0)


def test_virtual_offset_before_empty_block() -> None:
    data = compress(b"a" * 100) + BGZF_EOF + compress(b"b" * 50) + BGZF_EOF
    prefix = _decoded(data)
    assert prefix.virtual_offset(100) == VirtualOffset(prefix.blocks[1].coffset, 0)


def test_virtual_offset_at_payload_end() -> None:
    data = compress(b"a" * 100) + BGZF_EOF
    prefix = _decoded(data)
    assert prefix.virtual_offset(100) == VirtualOffset(len(data) - len(BGZF_EOF), 0)


def test_cursor_raises_incomplete_past_end() -> None:
    cursor = ByteCursor(b"\x01\x00")
    with pytest.raises(Incomplete):
        cursor.int32("a field")


def _payload_length_parser(needed: int) -> Callable[[BgzfPrefix], int]:
    def parse(prefix: BgzfPrefix) -> int:
        if len(prefix.payload) < needed:
            raise Incomplete("the test header")
        return len(prefix.payload)

    return parse


def test_fetch_starts_with_first_slice_and_grows() -> None:
    payload = random.Random(1).randbytes(300_000)
    reader = MemoryReader(bgzf_file(payload))
    parse_bgzf_prefix(reader, reader.size, _payload_length_parser(len(payload)), "test")
    assert reader.calls[0] == (0, FIRST_SLICE)
    assert len(reader.calls) > 1
    for previous, following in itertools.pairwise(reader.calls):
        assert following[0] == previous[1]


def test_fetch_stops_once_header_parses() -> None:
    reader = MemoryReader(bgzf_file(b"x" * 10 * MAX_PAYLOAD))
    parse_bgzf_prefix(reader, reader.size, _payload_length_parser(10), "test")
    assert len(reader.calls) == 1


def test_short_read_reports_truncation() -> None:
    data = bgzf_file(b"x" * 1000)
    reader = MemoryReader(data[:-40])
    with pytest.raises(FormatError, match="truncated"):
        parse_bgzf_prefix(reader, len(data), _payload_length_parser(2000), "test")


def test_damaged_block_after_header_is_ignored() -> None:
    data = compress(b"header") + b"\x1f\x8b garbage garbage garbage"
    reader = MemoryReader(data)
    assert parse_bgzf_prefix(reader, len(data), _payload_length_parser(6), "test") == 6


def test_damaged_block_before_header_end_raises() -> None:
    data = compress(b"header") + b"\x1f\x8b garbage garbage garbage"
    reader = MemoryReader(data)
    with pytest.raises(FormatError, match="corrupt test file"):
        parse_bgzf_prefix(reader, len(data), _payload_length_parser(100), "test")


def test_non_bgzf_data_is_rejected() -> None:
    reader = MemoryReader(b"plain text, not compressed at all" * 10)
    with pytest.raises(FormatError, match="not a test file"):
        parse_bgzf_prefix(reader, reader.size, _payload_length_parser(10), "test")


class _RepeatingReader:
    """A huge BGZF object made of one block repeated, generated on request."""

    def __init__(self, block: bytes, count: int) -> None:
        self.block = block
        self.size = len(block) * count

    def __call__(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        first, last = start // len(self.block), -(-end // len(self.block))
        chunk = self.block * (last - first)
        return chunk[start - first * len(self.block) : end - first * len(self.block)]


def test_header_above_cap_raises() -> None:
    block = compress(b"#" * MAX_PAYLOAD)
    reader = _RepeatingReader(block, MAX_HEADER_SIZE // MAX_PAYLOAD + 10)

    def never_complete(prefix: BgzfPrefix) -> None:
        raise Incomplete("the test header")

    with pytest.raises(FormatError, match="64 MiB") as caught:
        parse_bgzf_prefix(reader, reader.size, never_complete, "test")
    assert str(MAX_HEADER_SIZE) in str(caught.value)
