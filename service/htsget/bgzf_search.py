"""Byte ranges for BGZF formats (BAM, BCF, bgzipped VCF) from their BAI, CSI or TBI index.

The index gives spans of virtual offsets. A span rarely starts or ends on a
block boundary: the first block of a span may begin with the tail of a
record that started in the previous block, and the last block may end in
the middle of one. Concatenating whole blocks would then hand the client a
broken record. So the whole blocks inside a span are served as a byte
range of the stored file, and the partial blocks at its edges are
decompressed, cut at the span's virtual offsets and re-encoded as inline
BGZF blocks, unless walking the BAM or BCF record lengths shows that the
block's edge is a record boundary anyway, as it usually is in files htslib
wrote. Every ticket therefore decodes to whole records only.
"""

from __future__ import annotations

from collections.abc import Iterable

from adapters.formats.bgzf import MAX_BLOCK_SIZE, VirtualOffset
from adapters.indexes.binning import BinningIndex
from service.htsget.objects import ObjectCatalog, OpenedObject
from service.htsget.parts import ByteRange, Inline, Part, PartClass
from service.htsget.query import UNPLACED_UNMAPPED, Region
from service.htsget.references import reference_id_and_end

Span = tuple[VirtualOffset, VirtualOffset]

# Spans whose compressed gap is at most this are joined; an estimate, not a measured optimum.
SPAN_JOIN_GAP = 4 * MAX_BLOCK_SIZE


def header_parts(catalog: ObjectCatalog, opened: OpenedObject) -> list[Part]:
    """Return the parts holding the file's header, up to the first record."""
    header_end = opened.header.header_end
    if opened.header_bytes is None:
        return span_parts(catalog, opened, (VirtualOffset(0, 0), header_end), "header")
    parts: list[Part] = [Inline(opened.header_bytes, "header")]
    if header_end.uoffset:
        tail = catalog.block_slice(opened, header_end.coffset, 0, header_end.uoffset)
        parts.append(Inline(tail, "header"))
    return parts


def eof_part(opened: OpenedObject) -> Part:
    """Return the EOF marker inline; at 28 or 38 bytes it is not worth a request."""
    return Inline(opened.eof_marker)


def whole_body_span(opened: OpenedObject) -> Span:
    """Return the span from the first record to the end of the records."""
    return opened.header.header_end, VirtualOffset(opened.body_end, 0)


def region_spans(
    index: BinningIndex, opened: OpenedObject, regions: Iterable[Region]
) -> list[Span]:
    """Return the merged spans of records that may overlap any of `regions`, in file order."""
    spans: list[Span] = []
    for region in regions:
        if region.reference_name == UNPLACED_UNMAPPED:
            last_mapped = index.max_end() or opened.header.header_end
            first = max(last_mapped, opened.header.header_end)
            spans.append((first, VirtualOffset(opened.body_end, 0)))
            continue
        names = index.reference_names or tuple(ref.name for ref in opened.header.references)
        ref_id, end = reference_id_and_end(opened, names, region, index.max_position)
        start = region.start or 0
        if start >= end:
            continue
        spans.extend((chunk.begin, chunk.end) for chunk in index.query(ref_id, start, end))
    return merge_spans(spans)


def merge_spans(spans: list[Span]) -> list[Span]:
    """Sort spans and join those that overlap or lie within `SPAN_JOIN_GAP` bytes of each other.

    Joining nearby spans adds the records between them (the specification
    allows a superset) but saves edge blocks and URLs. htslib fetches a
    ticket's URLs one after another, so one request saved is worth more
    than a few hundred KiB on most links.
    """
    merged: list[Span] = []
    for begin, end in sorted(spans):
        if end <= begin:
            continue
        if merged and begin.coffset <= merged[-1][1].coffset + SPAN_JOIN_GAP:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def span_parts(
    catalog: ObjectCatalog, opened: OpenedObject, span: Span, cls: PartClass = "body"
) -> list[Part]:
    """Turn one span of virtual offsets into whole-block ranges and re-encoded edge blocks."""
    begin, end = span
    if end <= begin:
        return []
    head_whole = begin.uoffset == 0 or catalog.is_record_edge(opened, begin, "start")
    tail_whole = end.uoffset > 0 and catalog.is_record_edge(opened, end, "end")
    if begin.coffset == end.coffset:
        if head_whole and tail_whole:
            return [ByteRange(begin.coffset, catalog.block(opened, begin.coffset).end, cls)]
        slice_ = catalog.block_slice(opened, begin.coffset, begin.uoffset, end.uoffset)
        return [Inline(slice_, cls)]

    parts: list[Part] = []
    whole_start, whole_end = begin.coffset, end.coffset
    if not head_whole:
        head = catalog.block_slice(opened, begin.coffset, begin.uoffset, None)
        parts.append(Inline(head, cls))
        whole_start = catalog.block(opened, begin.coffset).end
    parts.append(ByteRange(whole_start, whole_end, cls))
    if tail_whole:
        parts[-1] = ByteRange(whole_start, catalog.block(opened, end.coffset).end, cls)
    elif end.uoffset:
        parts.append(Inline(catalog.block_slice(opened, end.coffset, 0, end.uoffset), cls))
    return parts
