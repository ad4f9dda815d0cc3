"""Tests for parsing structured `##contig=<...>` header lines."""

from __future__ import annotations

import pytest

from adapters.errors import FormatError
from adapters.formats.vcf_text import ContigLine, parse_contig_line, parse_structured_fields


def test_fields_unquote_and_unescape() -> None:
    fields = parse_structured_fields('ID=x,Description="say \\"hi\\", then >",length=3')
    assert fields == {"ID": "x", "Description": 'say "hi", then >', "length": "3"}


def test_repeated_key_keeps_first() -> None:
    assert parse_structured_fields("ID=a,ID=b") == {"ID": "a"}


@pytest.mark.parametrize("body", ["ID", 'ID="open', 'ID="a"b'])
def test_malformed_fields_raise(body: str) -> None:
    with pytest.raises(ValueError):
        parse_structured_fields(body)


def test_contig_line_with_idx() -> None:
    line = "##contig=<ID=chr1,length=248956422,IDX=4>"
    assert parse_contig_line(line, "BCF") == ContigLine("chr1", 248956422, 4)


@pytest.mark.parametrize(
    "line",
    [
        "##contig=<length=5>",
        "##contig=<ID=a,length=5",
        '##contig=<ID="a>',
        "##contig=<ID=a,IDX=-1>",
    ],
)
def test_malformed_contig_lines_raise(line: str) -> None:
    with pytest.raises(FormatError, match="VCF header"):
        parse_contig_line(line, "VCF")
