"""Look up a region's reference and check its coordinates against the reference length."""

from __future__ import annotations

from collections.abc import Sequence

from service.errors import InvalidRange, NotFound
from service.htsget.objects import OpenedObject
from service.htsget.query import Region

_LISTED_NAMES = 8


def reference_id_and_end(
    opened: OpenedObject, names: Sequence[str], region: Region, max_position: int
) -> tuple[int, int]:
    """Return the reference id of `region` and its effective end.

    `names` are the reference names in index id order. A missing end means
    the end of the reference; an end past the reference is clamped, while a
    start past it is an InvalidRange.
    """
    name = region.reference_name
    try:
        ref_id = list(names).index(name)
    except ValueError:
        listed = ", ".join(names[:_LISTED_NAMES]) + (", ..." if len(names) > _LISTED_NAMES else "")
        message = f"reference {name!r} is not in {opened.keys.data!r}"
        raise NotFound(f"{message} (its references: {listed or 'none'})") from None
    length = _length_of(opened, name)
    limit = min(length, max_position) if length is not None else max_position
    start = region.start or 0
    if length is not None and start > 0 and start >= length:
        raise InvalidRange(
            f"start {start} is beyond the end of reference {name!r} (length {length})"
        )
    end = limit if region.end is None else min(region.end, limit)
    return ref_id, end


def _length_of(opened: OpenedObject, name: str) -> int | None:
    for reference in opened.header.references:
        if reference.name == name:
            return reference.length
    return None

