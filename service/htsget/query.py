"""htsget queries: parse and check GET parameters and POST bodies (htsget 1.3).

Coordinates are 0-based and half-open. Every rejection raises the error the
specification names, with a message that quotes the offending value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.errors import InvalidInput, InvalidRange, UnsupportedFormat

MAX_COORDINATE = 2**32 - 1
UNPLACED_UNMAPPED = "*"

READ_FIELDS = frozenset(
    {"QNAME", "FLAG", "RNAME", "POS", "MAPQ", "CIGAR", "RNEXT", "PNEXT", "TLEN", "SEQ", "QUAL"}
)


class Endpoint(StrEnum):
    """The two htsget data endpoints."""

    READS = "reads"
    VARIANTS = "variants"

    @property
    def formats(self) -> tuple[str, ...]:
        """Formats served here, the default first."""
        return ("BAM", "CRAM") if self is Endpoint.READS else ("VCF", "BCF")


@dataclass(frozen=True)
class Region:
    """One genomic region; `start`/`end` of None mean the start/end of the reference."""

    reference_name: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Query:
    """A validated htsget request for one object.

    `regions` is None for the whole file (all reads, mapped and unmapped).
    `fields`, `tags` and `notags` are checked and kept; the service may
    return more than they ask for, as the specification allows.
    """

    endpoint: Endpoint
    id: str
    format: str
    header_only: bool = False
    regions: tuple[Region, ...] | None = None
    fields: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    notags: tuple[str, ...] | None = None


def parse_format(endpoint: Endpoint, value: str | None) -> str:
    """Return the upper-case format, the endpoint's default when `value` is None."""
    if value is None:
        return endpoint.formats[0]
    upper = value.upper()
    if upper not in endpoint.formats:
        allowed = " or ".join(endpoint.formats)
        raise UnsupportedFormat(
            f"format {value!r} is not supported on /{endpoint.value}; use {allowed}"
        )
    return upper


def parse_class(value: str | None) -> bool:
    """Return True for `class=header`; the specification defines no other class."""
    if value is None:
        return False
    if value.lower() != "header":
        raise InvalidInput(f"class {value!r} is not supported; the only class is 'header'")
    return True


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(item for item in value.split(",") if item)


def check_filters(
    endpoint: Endpoint,
    fields: Sequence[str] | None,
    tags: Sequence[str] | None,
    notags: Sequence[str] | None,
) -> None:
    """Reject unknown read fields, malformed tags and tags listed in both `tags` and `notags`."""
    if fields is not None and endpoint is Endpoint.READS:
        unknown = sorted(set(fields) - READ_FIELDS)
        if unknown:
            known = ", ".join(sorted(READ_FIELDS))
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; use any of {known}")
    for name, values in (("tags", tags), ("notags", notags)):
        for tag in values or ():
            if len(tag) != 2 or not tag.isalnum():
                raise InvalidInput(f"{name} entry {tag!r} is not a two-character tag such as 'MD'")
    overlap = sorted(set(tags or ()) & set(notags or ()))
    if overlap:
        raise InvalidInput(f"tag(s) {', '.join(overlap)} appear in both tags and notags")


def check_region(endpoint: Endpoint, region: Region, *, allow_empty: bool) -> None:
    """Check one region's reference and coordinates."""
    name = region.reference_name
    if not name:
        raise InvalidInput("referenceName must not be empty")
    has_range = region.start is not None or region.end is not None
    if name == UNPLACED_UNMAPPED:
        if endpoint is not Endpoint.READS:
            raise InvalidInput("referenceName '*' (unplaced unmapped reads) applies to /reads only")
        if has_range:
            raise InvalidInput("start and end cannot be combined with referenceName '*'")
    for label, value in (("start", region.start), ("end", region.end)):
        if value is not None and not 0 <= value <= MAX_COORDINATE:
            raise InvalidInput(f"{label} {value} is outside 0..{MAX_COORDINATE}")
    start, end = region.start, region.end
    if start is None or end is None:
        return
    if start > end or (start == end and not allow_empty):
        relation = "greater than" if start > end else "equal to"
        raise InvalidRange(
            f"start {start} is {relation} end {end} on {name!r}; "
            "coordinates are 0-based, end exclusive"
        )


def query_from_params(endpoint: Endpoint, object_id: str, params: Mapping[str, Any]) -> Query:
    """Build a query from GET parameters (already type-checked by the OpenAPI layer)."""
    fmt = parse_format(endpoint, params.get("format"))
    header_only = parse_class(params.get("class"))
    name = params.get("referenceName")
    start, end = params.get("start"), params.get("end")
    fields, tags, notags = (_split(params.get(key)) for key in ("fields", "tags", "notags"))

    if header_only:
        extra = [key for key in ("referenceName", "start", "end", "fields", "tags", "notags")
                 if params.get(key) is not None]
        if extra:
            raise InvalidInput(f"class=header cannot be combined with {', '.join(extra)}")
    if name is None and (start is not None or end is not None):
        raise InvalidInput("start and end require referenceName")
    check_filters(endpoint, fields, tags, notags)

    regions = None
    if name is not None:
        region = Region(name, start, end)
        check_region(endpoint, region, allow_empty=True)
        regions = (region,)
    return Query(endpoint, object_id, fmt, header_only, regions, fields, tags, notags)


def _string_list(body: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(f"{key} must be an array of strings")
    return tuple(value)


def query_from_body(
    endpoint: Endpoint, object_id: str, body: Mapping[str, Any], max_regions: int
) -> Query:
    """Build a query from a POST body; query-string parameters are rejected by the caller."""
    fmt = parse_format(endpoint, body.get("format"))
    header_only = parse_class(body.get("class"))
    fields, tags, notags = (_string_list(body, key) for key in ("fields", "tags", "notags"))
    check_filters(endpoint, fields, tags, notags)

    raw_regions = body.get("regions")
    if header_only and raw_regions is not None:
        raise InvalidInput("class=header cannot be combined with regions")
    if raw_regions is None:
        return Query(endpoint, object_id, fmt, header_only, None, fields, tags, notags)
    if not isinstance(raw_regions, list) or not raw_regions:
        raise InvalidInput("regions must be a non-empty array; omit it to request the whole file")
    if len(raw_regions) > max_regions:
        raise InvalidInput(
            f"{len(raw_regions)} regions requested; at most {max_regions} are allowed per request"
        )
    regions = tuple(_region_from_body(index, item) for index, item in enumerate(raw_regions))
    for region in regions:
        check_region(endpoint, region, allow_empty=False)
    return Query(endpoint, object_id, fmt, header_only, regions, fields, tags, notags)


def _region_from_body(index: int, item: Any) -> Region:
    if not isinstance(item, dict) or not isinstance(item.get("referenceName"), str):
        raise InvalidInput(f"regions[{index}] must be an object with a string referenceName")
    unknown = sorted(set(item) - {"referenceName", "start", "end"})
    if unknown:
        raise InvalidInput(f"regions[{index}] has unknown key(s) {', '.join(unknown)}")
    for key in ("start", "end"):
        value = item.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInput(f"regions[{index}].{key} must be an integer, not {value!r}")
    return Region(item["referenceName"], item.get("start"), item.get("end"))
