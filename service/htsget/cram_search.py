"""Byte ranges for CRAM from its CRAI index.

CRAM containers are self-contained, so a ticket serves whole containers:
from a container's offset up to the next container, or up to the EOF
container for the last one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from adapters.indexes.crai import CraiIndex
from service.htsget.objects import OpenedObject
from service.htsget.parts import ByteRange, Inline, Part
from service.htsget.query import UNPLACED_UNMAPPED, Region
from service.htsget.references import reference_id_and_end

# CRAI stores 1-based starts and spans up to 2^31; any end beyond that covers a whole reference.
_CRAM_MAX_POSITION = 2**31


def header_parts(opened: OpenedObject) -> list[Part]:
    """Return the file definition and the header container, inline when small."""
    if opened.header_bytes is not None:
        return [Inline(opened.header_bytes, "header")]
    return [ByteRange(0, opened.header.header_end.coffset, "header")]


def whole_body_part(opened: OpenedObject) -> Part:
    """Return every data container."""
    return ByteRange(opened.header.header_end.coffset, opened.body_end)


def region_parts(index: CraiIndex, opened: OpenedObject, regions: Iterable[Region]) -> list[Part]:
    """Return the containers that hold records of any of `regions`, in file order."""
    names = tuple(reference.name for reference in opened.header.references)
    offsets: set[int] = set()
    for region in regions:
        if region.reference_name == UNPLACED_UNMAPPED:
            offsets.update(index.unplaced_offsets())
            continue
        ref_id, end = reference_id_and_end(opened, names, region, _CRAM_MAX_POSITION)
        start = region.start or 0
        if start < end:
            offsets.update(index.query(ref_id, start, end))

    boundaries = index.container_offsets()
    parts: list[Part] = []
    for offset in sorted(offsets):
        position = bisect.bisect_right(boundaries, offset)
        end = boundaries[position] if position < len(boundaries) else opened.body_end
        parts.append(ByteRange(offset, end))
    return parts
