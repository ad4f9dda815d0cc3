"""Tests for the BAM header reader, against samtools and damaged copies."""

from __future__ import annotations

import contextlib
import gzip
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.errors import FormatError
from adapters.formats.bam import read_bam_header
from adapters.formats.bgzf import decompress_all, iter_blocks
from adapters.formats.header import FileHeader
from adapters.formats.reader import MAX_HEADER_SIZE
from adapters.indexes.bai import parse_bai
from tests.adapters.formats.tools import (
    MemoryReader,
    bgzf_file,
    decompressed_at,
    file_reader,
    run,
    sam_references,
)


def _read(path: Path) -> FileHeader:
    reader = file_reader(path)
    return read_bam_header(reader, reader.size)


def _read_bytes(data: bytes) -> FileHeader:
    return read_bam_header(MemoryReader(data), len(data))


def _first_read_name(path: Path) -> str:
    return run("samtools", "view", str(path)).split("\t", 1)[0]


def _record_name_at(data: bytes, header: FileHeader) -> str:
    """Decode the read name of the BAM record that starts at `header.header_end`."""
    stream = decompressed_at(data, header.header_end.coffset, header.header_end.uoffset)
    name_length = stream[12]
    return stream[36 : 36 + name_length - 1].decode("ascii")


def test_shared_bam_references_match_samtools(shared_bam: Path) -> None:
    header = _read(shared_bam)
    assert [(ref.name, ref.length) for ref in header.references] == sam_references(shared_bam)


def test_shared_bam_header_end_is_first_chunk(shared_bam: Path) -> None:
    index = parse_bai(Path(f"{shared_bam}.bai").read_bytes())
    assert _read(shared_bam).header_end == index.first_begin()


def test_shared_bam_header_end_holds_first_read(shared_bam: Path) -> None:
    header = _read(shared_bam)
    assert _record_name_at(shared_bam.read_bytes(), header) == _first_read_name(shared_bam)


def test_format_is_bam(shared_bam: Path) -> None:
    assert _read(shared_bam).format == "BAM"


def test_rebgzipped_bam_header_ends_inside_block(
    shared_bam: Path, tmp_path: Path
) -> None:
    # bgzip cuts blocks every 65280 bytes regardless of records, unlike samtools.
    raw = tmp_path / "raw.bam"
    raw.write_bytes(decompress_all(shared_bam.read_bytes()))
    run("bgzip", "-f", str(raw))
    rebgzipped = tmp_path / "raw.bam.gz"
    header = _read(rebgzipped)
    assert header.header_end.uoffset > 0
    assert _record_name_at(rebgzipped.read_bytes(), header) == _first_read_name(shared_bam)


def test_header_across_blocks_matches_samtools(
    many_contigs_sam: Path, bam_from_sam: Callable[..., Path]
) -> None:
    bam = bam_from_sam(many_contigs_sam)
    reader = file_reader(bam)
    header = read_bam_header(reader, reader.size)
    assert len(reader.calls) > 1
    assert [(ref.name, ref.length) for ref in header.references] == sam_references(bam)
    assert _record_name_at(bam.read_bytes(), header) == "read0"


@pytest.mark.parametrize("level", ["0", "1", "9"])
def test_header_end_at_each_compression_level(
    unmapped_sam: Path, bam_from_sam: Callable[..., Path], level: str
) -> None:
    bam = bam_from_sam(unmapped_sam, "--output-fmt-option", f"level={level}")
    header = _read(bam)
    assert [ref.name for ref in header.references] == ["chr1", "chrX"]
    assert _record_name_at(bam.read_bytes(), header) == "read0"


def test_header_only_bam_ends_at_eof_block(
    unmapped_sam: Path, bam_from_sam: Callable[..., Path], tmp_path: Path
) -> None:
    header_only = tmp_path / "header_only.sam"
    header_only.write_text(
        "".join(line for line in unmapped_sam.read_text().splitlines(True) if line[0] == "@")
    )
    bam = bam_from_sam(header_only)
    assert _read(bam).header_end.coffset == bam.stat().st_size - 28


def _bam_payload(text: bytes, references: list[tuple[bytes, int]]) -> bytes:
    parts = [b"BAM\x01", struct.pack("<i", len(text)), text, struct.pack("<i", len(references))]
    for name, length in references:
        parts.append(struct.pack("<i", len(name) + 1) + name + b"\0" + struct.pack("<i", length))
    return b"".join(parts)


def test_hand_built_bam_header() -> None:
    payload = _bam_payload(b"@HD\tVN:1.6\n", [(b"chr1", 100), (b"chr2", 200)])
    header = _read_bytes(bgzf_file(payload + b"record bytes"))
    assert [(ref.name, ref.length) for ref in header.references] == [("chr1", 100), ("chr2", 200)]
    assert header.header_end.uoffset == len(payload)


def test_wrong_magic_is_not_bam() -> None:
    with pytest.raises(FormatError, match="is not a BAM file"):
        _read_bytes(bgzf_file(b"BCF\x02\x02" + bytes(100)))


def test_uncompressed_bam_is_not_bam() -> None:
    payload = _bam_payload(b"", [(b"chr1", 100)])
    with pytest.raises(FormatError, match="is not a BAM file"):
        _read_bytes(payload)


def test_plain_gzip_is_not_bam() -> None:
    payload = _bam_payload(b"", [(b"chr1", 100)])
    with pytest.raises(FormatError, match=r"not a BAM file.*BGZF"):
        _read_bytes(gzip.compress(payload))


def test_empty_object_is_rejected() -> None:
    with pytest.raises(FormatError):
        _read_bytes(b"")


def test_text_length_above_cap_raises() -> None:
    payload = b"BAM\x01" + struct.pack("<i", MAX_HEADER_SIZE + 1)
    with pytest.raises(FormatError, match="64 MiB") as caught:
        _read_bytes(bgzf_file(payload))
    assert str(MAX_HEADER_SIZE + 1) in str(caught.value)


def test_negative_reference_count_raises() -> None:
    payload = b"BAM\x01" + struct.pack("<ii", 0, -5)
    with pytest.raises(FormatError, match="negative"):
        _read_bytes(bgzf_file(payload))


def test_name_without_nul_raises() -> None:
    payload = b"BAM\x01" + struct.pack("<iii", 0, 1, 4) + b"chr1" + struct.pack("<i", 10)
    with pytest.raises(FormatError, match="NUL"):
        _read_bytes(bgzf_file(payload))


def test_truncated_header_raises_format_error(shared_bam: Path) -> None:
    payload = decompress_all(shared_bam.read_bytes())
    header_length = len(iter_blocks(shared_bam.read_bytes())[0].payload)
    for cut in range(0, header_length, 37):
        with pytest.raises(FormatError, match=r"truncated|not a BAM"):
            _read_bytes(bgzf_file(payload[:cut]))


def test_truncated_compressed_file_raises(shared_bam: Path) -> None:
    data = shared_bam.read_bytes()
    end = _read(shared_bam).header_end.coffset
    for cut in range(1, end, 97):
        with pytest.raises(FormatError):
            _read_bytes(data[:cut])


def test_damaged_header_raises_only_format_error(shared_bam: Path) -> None:
    payload = bytearray(decompress_all(shared_bam.read_bytes())[:12_000])
    rng = random.Random(5)
    for _ in range(300):
        damaged = bytearray(payload)
        for _flip in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(FormatError):
            _read_bytes(bgzf_file(bytes(damaged)))
