"""Tests for the BCF header reader and its contig dictionary numbering."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from adapters.errors import FormatError
from adapters.formats.bcf import read_bcf_header
from adapters.formats.header import FileHeader
from adapters.indexes.csi import parse_csi
from tests.adapters.formats.tools import (
    MemoryReader,
    bgzf_file,
    decompressed_at,
    file_reader,
    run,
    vcf_contigs,
)
from tests.support import shared_file

SHARED_BCFS = ["sample1-bcbio-cancer.bcf", "spec-v4.3.bcf"]
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def _read(path: Path) -> FileHeader:
    reader = file_reader(path)
    return read_bcf_header(reader, reader.size)


def _read_bytes(data: bytes) -> FileHeader:
    return read_bcf_header(MemoryReader(data), len(data))


def _bcf_payload(text: str, magic: bytes = b"BCF\x02\x02") -> bytes:
    raw = text.encode() + b"\0"
    return magic + struct.pack("<I", len(raw)) + raw


def _bcf(text: str, magic: bytes = b"BCF\x02\x02") -> bytes:
    return bgzf_file(_bcf_payload(text, magic))


def _names(header: FileHeader) -> list[str]:
    return [ref.name for ref in header.references]


@pytest.mark.parametrize("name", SHARED_BCFS)
def test_shared_bcf_contigs_match_bcftools(name: str) -> None:
    path = shared_file(name)
    header = _read(path)
    assert [(ref.name, ref.length) for ref in header.references] == vcf_contigs(path)


@pytest.mark.parametrize("name", SHARED_BCFS)
def test_shared_bcf_header_end_is_first_chunk(name: str) -> None:
    path = shared_file(name)
    index = parse_csi(Path(f"{path}.csi").read_bytes())
    assert _read(path).header_end == index.first_begin()


@pytest.mark.parametrize("name", SHARED_BCFS)
def test_shared_bcf_header_end_holds_first_record(name: str) -> None:
    path = shared_file(name)
    header = _read(path)
    end = header.header_end
    stream = decompressed_at(path.read_bytes(), end.coffset, end.uoffset)
    chrom, pos = struct.unpack_from("<ii", stream, 8)
    first = run("bcftools", "view", "-H", str(path)).split("\t", 2)
    assert (header.references[chrom].name, pos + 1) == (first[0], int(first[1]))


def test_bcftools_bcf_keeps_contig_order(tmp_path: Path) -> None:
    vcf = tmp_path / "in.vcf"
    contigs = ["chrZ", "chrA", "chrM", "chr10"]
    lines = ["##fileformat=VCFv4.3"]
    lines += [f"##contig=<ID={name},length={1000 * (i + 1)}>" for i, name in enumerate(contigs)]
    lines += [COLUMNS.rstrip("\n"), "chrA\t5\t.\tA\tG\t10\tPASS\t."]
    vcf.write_text("\n".join(lines) + "\n")
    bcf = tmp_path / "out.bcf"
    run("bcftools", "view", "-Ob", "-o", str(bcf), str(vcf))
    header = _read(bcf)
    assert [(ref.name, ref.length) for ref in header.references] == vcf_contigs(bcf)


def test_idx_sets_dictionary_order() -> None:
    text = (
        "##fileformat=VCFv4.3\n##contig=<ID=b,length=2,IDX=1>\n"
        "##contig=<ID=a,length=1,IDX=0>\n" + COLUMNS
    )
    assert _names(_read_bytes(_bcf(text))) == ["a", "b"]


def test_contig_without_idx_follows_highest() -> None:
    text = (
        "##fileformat=VCFv4.3\n##contig=<ID=a,IDX=1>\n##contig=<ID=b,IDX=0>\n"
        "##contig=<ID=c>\n" + COLUMNS
    )
    assert _names(_read_bytes(_bcf(text))) == ["b", "a", "c"]


def test_duplicate_idx_raises() -> None:
    text = "##fileformat=VCFv4.3\n##contig=<ID=a,IDX=0>\n##contig=<ID=b,IDX=0>\n" + COLUMNS
    with pytest.raises(FormatError, match="both have dictionary number 0"):
        _read_bytes(_bcf(text))


def test_idx_gap_raises() -> None:
    text = "##fileformat=VCFv4.3\n##contig=<ID=a,IDX=0>\n##contig=<ID=b,IDX=2>\n" + COLUMNS
    with pytest.raises(FormatError, match="no entry for IDX=1"):
        _read_bytes(_bcf(text))


def test_bcf_2_1_magic_is_accepted() -> None:
    text = "##fileformat=VCFv4.1\n##contig=<ID=a,length=5>\n" + COLUMNS
    assert _names(_read_bytes(_bcf(text, magic=b"BCF\x02\x01"))) == ["a"]


def test_header_end_follows_text() -> None:
    text = "##fileformat=VCFv4.3\n" + COLUMNS
    data = bgzf_file(_bcf_payload(text) + b"record bytes")
    assert _read_bytes(data).header_end.uoffset == 5 + 4 + len(text) + 1


def test_wrong_magic_is_not_bcf() -> None:
    with pytest.raises(FormatError, match="is not a BCF file"):
        _read_bytes(bgzf_file(b"BAM\x01" + bytes(20)))


def test_text_length_above_cap_raises() -> None:
    with pytest.raises(FormatError, match="64 MiB"):
        _read_bytes(bgzf_file(b"BCF\x02\x02" + struct.pack("<I", 2**31)))


def test_truncated_bcf_raises() -> None:
    raw = _bcf_payload("##fileformat=VCFv4.3\n##contig=<ID=a,length=5>\n" + COLUMNS)
    for cut in range(0, len(raw) - 1, 7):
        with pytest.raises(FormatError):
            _read_bytes(bgzf_file(raw[:cut]))
