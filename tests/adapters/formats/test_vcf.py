"""Tests for the bgzipped VCF header reader."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from adapters.errors import FormatError
from adapters.formats.bgzf import BGZF_EOF, MAX_PAYLOAD, VirtualOffset, compress
from adapters.formats.header import FileHeader
from adapters.formats.vcf import read_vcf_header
from adapters.indexes.tbi import parse_tbi
from tests.adapters.formats.tools import (
    MemoryReader,
    bgzf_file,
    decompressed_at,
    file_reader,
    run,
    vcf_contigs,
)
from tests.support import shared_file

SHARED_VCFS = ["sample1-bcbio-cancer.vcf.gz", "spec-v4.3.vcf.gz"]
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def _read(path: Path) -> FileHeader:
    reader = file_reader(path)
    return read_vcf_header(reader, reader.size)


def _read_bytes(data: bytes) -> FileHeader:
    return read_vcf_header(MemoryReader(data), len(data))


def _line_at(data: bytes, offset: VirtualOffset) -> str:
    stream = decompressed_at(data, offset.coffset, offset.uoffset)
    return stream.split(b"\n", 1)[0].decode()


def _first_record(path: Path) -> str:
    return run("bcftools", "view", "-H", "--no-version", str(path)).split("\n", 1)[0]


@pytest.mark.parametrize("name", SHARED_VCFS)
def test_shared_vcf_contigs_match_bcftools(name: str) -> None:
    path = shared_file(name)
    header = _read(path)
    assert [(ref.name, ref.length) for ref in header.references] == vcf_contigs(path)


@pytest.mark.parametrize("name", SHARED_VCFS)
def test_shared_vcf_header_end_is_first_chunk(name: str) -> None:
    path = shared_file(name)
    index = parse_tbi(Path(f"{path}.tbi").read_bytes())
    assert _read(path).header_end == index.first_begin()


@pytest.mark.parametrize("name", SHARED_VCFS)
def test_shared_vcf_header_end_holds_first_record(name: str) -> None:
    path = shared_file(name)
    header = _read(path)
    assert _line_at(path.read_bytes(), header.header_end) == _first_record(path)


def test_header_across_blocks(tmp_path: Path) -> None:
    lines = ["##fileformat=VCFv4.3"]
    lines += [f"##contig=<ID=ctg{number},length={number + 100}>" for number in range(9000)]
    lines += [COLUMNS.rstrip("\n"), "ctg5\t10\t.\tA\tC\t50\tPASS\t."]
    vcf = tmp_path / "many.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    run("bgzip", "-f", str(vcf))
    path = tmp_path / "many.vcf.gz"
    header = _read(path)
    assert len(header.references) == 9000
    assert header.references[8999].length == 9099
    assert _line_at(path.read_bytes(), header.header_end) == "ctg5\t10\t.\tA\tC\t50\tPASS\t."


def test_header_ending_at_block_end() -> None:
    text = "##fileformat=VCFv4.3\n##contig=<ID=1,length=10>\n"
    padding = MAX_PAYLOAD - len(text) - len(COLUMNS) - 1
    header = (text + "#" + "x" * (padding - 1) + "\n" + COLUMNS).encode()
    assert len(header) == MAX_PAYLOAD
    first_block = compress(header)
    data = first_block + compress(b"1\t5\t.\tA\tG\t1\tPASS\t.\n") + BGZF_EOF
    assert _read_bytes(data).header_end == VirtualOffset(len(first_block), 0)


def test_header_only_vcf_ends_at_eof_block() -> None:
    data = bgzf_file(b"##fileformat=VCFv4.2\n" + COLUMNS.encode())
    assert _read_bytes(data).header_end == VirtualOffset(len(data) - len(BGZF_EOF), 0)


def test_quoted_contig_fields() -> None:
    text = '##fileformat=VCFv4.3\n##contig=<ID=chrQ,desc="a, b \\" > c",length=77>\n' + COLUMNS
    header = _read_bytes(bgzf_file(text.encode()))
    assert [(ref.name, ref.length) for ref in header.references] == [("chrQ", 77)]


def test_repeated_contig_keeps_first_line() -> None:
    text = "##fileformat=VCFv4.3\n##contig=<ID=a,length=1>\n##contig=<ID=a,length=2>\n" + COLUMNS
    header = _read_bytes(bgzf_file(text.encode()))
    assert [(ref.name, ref.length) for ref in header.references] == [("a", 1)]


def test_contig_without_length() -> None:
    text = "##fileformat=VCFv4.3\n##contig=<ID=a>\n" + COLUMNS
    assert _read_bytes(bgzf_file(text.encode())).references[0].length is None


def test_invalid_contig_length_raises() -> None:
    text = "##fileformat=VCFv4.3\n##contig=<ID=a,length=ten>\n" + COLUMNS
    with pytest.raises(FormatError, match="length='ten'"):
        _read_bytes(bgzf_file(text.encode()))


def test_missing_column_line_raises() -> None:
    data = bgzf_file(b"##fileformat=VCFv4.3\n1\t5\t.\tA\tG\t1\tPASS\t.\n")
    with pytest.raises(FormatError, match="#CHROM"):
        _read_bytes(data)


def test_wrong_magic_is_not_vcf() -> None:
    with pytest.raises(FormatError, match="is not a VCF file"):
        _read_bytes(bgzf_file(b"@HD\tVN:1.6\n"))


def test_uncompressed_vcf_is_rejected() -> None:
    with pytest.raises(FormatError, match=r"not a VCF file.*BGZF"):
        _read_bytes(b"##fileformat=VCFv4.3\n" + COLUMNS.encode())


def test_plain_gzip_vcf_is_rejected() -> None:
    with pytest.raises(FormatError, match=r"not a VCF file.*BGZF"):
        _read_bytes(gzip.compress(b"##fileformat=VCFv4.3\n" + COLUMNS.encode()))


def test_invalid_utf8_header_raises() -> None:
    data = bgzf_file(b"##fileformat=VCFv4.3\n##x=\xff\xfe\n" + COLUMNS.encode())
    with pytest.raises(FormatError, match="UTF-8"):
        _read_bytes(data)


def test_truncated_vcf_raises() -> None:
    path = shared_file(SHARED_VCFS[0])
    payload = gzip.decompress(path.read_bytes())
    header_length = payload.index(b"\n#CHROM") + 1
    for cut in range(0, header_length, 101):
        with pytest.raises(FormatError):
            _read_bytes(bgzf_file(payload[:cut]))
