"""Tell whether a BGZF block of BAM or BCF starts or ends on a record boundary.

htslib flushes a block before a record that would not fit (bgzf_flush_try
in htslib 1.x), so in files it wrote records rarely cross blocks. When a
block's edges are record boundaries, tickets can point at the whole stored
block instead of re-encoding a slice of it. Both formats put a record's
length in front of it, so walking the lengths from one known boundary to
another proves the block's edges: BAM's `block_size` (uint32) and BCF's
`l_shared` plus `l_indiv` (two uint32). Bgzipped VCF has no such lengths
and always gets re-encoded edges.
"""

from __future__ import annotations

import struct

_BAM_MIN_RECORD = 32  # the fixed fields of a BAM record
_MAX_RECORD = 1 << 28


def _record_end(fmt: str, payload: bytes, position: int) -> int | None:
    """Return where the record starting at `position` ends, or None if it cannot start there."""
    if fmt == "BAM":
        if position + 4 > len(payload):
            return None
        size: int = struct.unpack_from("<I", payload, position)[0]
        if not _BAM_MIN_RECORD <= size <= _MAX_RECORD:
            return None
        return position + 4 + size
    if position + 8 > len(payload):
        return None
    shared: int
    individual: int
    shared, individual = struct.unpack_from("<II", payload, position)
    if shared < 24 or shared + individual > _MAX_RECORD:
        return None
    return position + 8 + shared + individual


def starts_with_record(fmt: str, payload: bytes, first_record: int) -> bool:
    """Return True if walking records from offset 0 lands exactly on `first_record`."""
    if fmt not in ("BAM", "BCF"):
        return False
    position = 0
    while position < first_record:
        end = _record_end(fmt, payload, position)
        if end is None:
            return False
        position = end
    return position == first_record


def ends_with_record(fmt: str, payload: bytes, record_end: int) -> bool:
    """Return True if walking records from `record_end` lands exactly on the payload's end."""
    if fmt not in ("BAM", "BCF"):
        return False
    position = record_end
    while position < len(payload):
        end = _record_end(fmt, payload, position)
        if end is None:
            return False
        position = end
    return position == len(payload)
