"""Tests for the GZI reader against indexes written by bgzip."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from adapters.errors import FormatError
from adapters.formats.bgzf import iter_blocks
from adapters.indexes.gzi import parse_gzi
from tests.adapters.indexes.damage import flips, truncations, unexpected_errors
from tests.adapters.indexes.tools import run
from tests.support import shared_file


def block_starts(path: Path) -> tuple[tuple[int, int], ...]:
    """Return (compressed, uncompressed) offsets of every non-empty BGZF block in the file."""
    starts = []
    uncompressed = 0
    for block in iter_blocks(path.read_bytes()):
        if block.payload:
            starts.append((block.coffset, uncompressed))
        uncompressed += len(block.payload)
    return tuple(starts)


@pytest.fixture(scope="module")
def multi_block(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text file of about 600 KB compressed with `bgzip -i`, so it spans many blocks."""
    rng = random.Random(12)
    path = tmp_path_factory.mktemp("gzi") / "lines.txt"
    path.write_text("".join(f"line {i}\t{rng.random()}\n" for i in range(30_000)))
    run("bgzip", "-i", str(path))
    return path.with_name("lines.txt.gz")


def test_gzi_matches_block_starts(multi_block: Path) -> None:
    blocks = parse_gzi(Path(f"{multi_block}.gzi").read_bytes())
    assert blocks == block_starts(multi_block)


def test_gzi_has_many_blocks(multi_block: Path) -> None:
    assert len(parse_gzi(Path(f"{multi_block}.gzi").read_bytes())) > 5


def test_gzi_reindex_of_single_block(work_dir: Path) -> None:
    vcf_gz = work_dir / "spec.vcf.gz"
    vcf_gz.write_bytes(shared_file("spec-v4.3.vcf.gz").read_bytes())
    run("bgzip", "-r", str(vcf_gz))
    assert parse_gzi(Path(f"{vcf_gz}.gzi").read_bytes()) == ((0, 0),)


def test_gzi_count_mismatch() -> None:
    with pytest.raises(FormatError, match="entry count 2"):
        parse_gzi(struct.pack("<3Q", 2, 100, 65280))


def test_gzi_offsets_not_ascending() -> None:
    with pytest.raises(FormatError, match="not ascending"):
        parse_gzi(struct.pack("<5Q", 2, 100, 65280, 90, 130560))


def test_gzi_empty_file() -> None:
    with pytest.raises(FormatError, match="entry count"):
        parse_gzi(b"")


def test_gzi_huge_count() -> None:
    with pytest.raises(FormatError, match="entry count"):
        parse_gzi(struct.pack("<Q", 2**63))


def test_gzi_damage_raises_format_error(multi_block: Path) -> None:
    data = Path(f"{multi_block}.gzi").read_bytes()
    variants = list(truncations(data, limit=len(data))) + list(flips(data, seed=13))
    assert unexpected_errors(parse_gzi, iter(variants)) == []
