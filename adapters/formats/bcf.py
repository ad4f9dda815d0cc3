"""BCF header reader, following the BCF2 part of the VCF specification (v4.3)."""

from __future__ import annotations

from adapters.errors import FormatError
from adapters.formats.header import FileHeader, Reference
from adapters.formats.reader import (
    BgzfPrefix,
    ByteCursor,
    RangeReader,
    check_declared_size,
    parse_bgzf_prefix,
)
from adapters.formats.vcf_text import ContigLine, contig_lines

BCF_MAGICS = (b"BCF\x02\x02", b"BCF\x02\x01")
"""Magic numbers of BCF 2.2 and BCF 2.1, which share the header layout."""


def read_bcf_header(read: RangeReader, size: int) -> FileHeader:
    """Read the contig dictionary of a BCF file and where its first record starts."""
    return parse_bgzf_prefix(read, size, _parse_header, "BCF")


def _parse_header(prefix: BgzfPrefix) -> FileHeader:
    payload = prefix.payload
    if not any(magic.startswith(payload[:5]) for magic in BCF_MAGICS):
        raise FormatError(
            f"object is not a BCF file: it starts with {payload[:5]!r} "
            f"instead of {BCF_MAGICS[0]!r} or {BCF_MAGICS[1]!r}"
        )
    cursor = ByteCursor(payload)
    cursor.take(5, "the BCF magic number")
    text_length = cursor.uint32("the header text length")
    check_declared_size("BCF", "the header text length (l_text)", text_length)
    raw_text = cursor.take(text_length, "the header text")
    text = _decode(raw_text.split(b"\0", 1)[0])
    references = _contig_dictionary(contig_lines(text, "BCF"))
    return FileHeader("BCF", references, prefix.virtual_offset(cursor.pos))


def _decode(text: bytes) -> str:
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"corrupt BCF file: the header text is not UTF-8: {exc}") from None


def _contig_dictionary(contigs: list[ContigLine]) -> tuple[Reference, ...]:
    """Number the contigs as BCF records do.

    A contig with `IDX=` gets that number. One without gets the next number
    after the highest assigned so far, and a repeated ID keeps its first line.
    """
    by_id: dict[int, Reference] = {}
    names: set[str] = set()
    next_id = 0
    for contig in contigs:
        if contig.name in names:
            continue
        number = next_id if contig.idx is None else contig.idx
        if number in by_id:
            raise FormatError(
                f"corrupt BCF header: contigs {by_id[number].name!r} and {contig.name!r} "
                f"both have dictionary number {number}"
            )
        names.add(contig.name)
        by_id[number] = Reference(contig.name, contig.length)
        next_id = max(next_id, number + 1)
    missing = [number for number in range(next_id) if number not in by_id]
    if missing:
        raise FormatError(
            f"unsupported BCF header: the contig dictionary has no entry for IDX={missing[0]}, "
            "so reference ids cannot be mapped to names; renumber the IDX= fields without gaps"
        )
    return tuple(by_id[number] for number in range(next_id))
