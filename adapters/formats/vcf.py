"""Header reader for bgzipped VCF files."""

from __future__ import annotations

from adapters.errors import FormatError
from adapters.formats.header import FileHeader, Reference
from adapters.formats.reader import BgzfPrefix, Incomplete, RangeReader, parse_bgzf_prefix
from adapters.formats.vcf_text import contig_lines

VCF_MAGIC = b"##fileformat=VCF"


def read_vcf_header(read: RangeReader, size: int) -> FileHeader:
    """Read the `##contig` references of a bgzipped VCF and where its first record starts."""
    return parse_bgzf_prefix(read, size, _parse_header, "VCF")


def _parse_header(prefix: BgzfPrefix) -> FileHeader:
    payload = prefix.payload
    if payload[: len(VCF_MAGIC)] != VCF_MAGIC[: len(payload)]:
        raise FormatError(
            f"object is not a VCF file: it starts with {payload[:20]!r} "
            f"instead of {VCF_MAGIC!r}"
        )
    end = _header_length(payload, prefix.complete)
    text = _decode(payload[:end])
    if not _has_column_line(text):
        raise FormatError(
            "corrupt VCF file: the header has no #CHROM column line before the first record"
        )
    return FileHeader("VCF", _references(text), prefix.virtual_offset(end))


def _header_length(payload: bytes, complete: bool) -> int:
    """Return the offset of the first line that does not start with '#'."""
    pos = 0
    while True:
        if pos == len(payload):
            if complete:
                return pos
            raise Incomplete("the header")
        if payload[pos] != ord("#"):
            return pos
        newline = payload.find(b"\n", pos)
        if newline < 0:
            raise Incomplete("a header line")
        pos = newline + 1


def _decode(text: bytes) -> str:
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"corrupt VCF file: the header is not UTF-8: {exc}") from None


def _has_column_line(text: str) -> bool:
    lines = text.splitlines()
    return bool(lines) and lines[-1].startswith("#CHROM")


def _references(text: str) -> tuple[Reference, ...]:
    """Return the contigs in `##contig` order, keeping the first line for a repeated ID."""
    seen: set[str] = set()
    references: list[Reference] = []
    for contig in contig_lines(text, "VCF"):
        if contig.name not in seen:
            seen.add(contig.name)
            references.append(Reference(contig.name, contig.length))
    return tuple(references)
