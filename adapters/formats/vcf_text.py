"""Parsing of the `##contig` lines that VCF and BCF headers share."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.errors import FormatError

CONTIG_PREFIX = "##contig=<"


@dataclass(frozen=True)
class ContigLine:
    """One `##contig` header line: its ID, its length if given, and its BCF IDX if given."""

    name: str
    length: int | None
    idx: int | None


def parse_structured_fields(body: str) -> dict[str, str]:
    """Split the inside of `<...>` into keys and values, unquoting `"..."` values.

    Inside quotes, a backslash escapes the next character, so values may
    contain commas, quotes and `>`.
    """
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        equals = body.find("=", pos)
        if equals < 0:
            raise ValueError(f"field {body[pos:]!r} has no '='")
        key = body[pos:equals].strip()
        value, pos = _read_value(body, equals + 1)
        fields.setdefault(key, value)
        if pos < len(body):
            if body[pos] != ",":
                raise ValueError(f"expected ',' after field {key!r}")
            pos += 1
    return fields


def _read_value(body: str, pos: int) -> tuple[str, int]:
    """Read the value at `body[pos]` and return it with the offset just past it."""
    if not body.startswith('"', pos):
        comma = body.find(",", pos)
        end = len(body) if comma < 0 else comma
        return body[pos:end], end
    chars: list[str] = []
    pos += 1
    while pos < len(body):
        char = body[pos]
        if char == "\\" and pos + 1 < len(body):
            chars.append(body[pos + 1])
            pos += 2
        elif char == '"':
            return "".join(chars), pos + 1
        else:
            chars.append(char)
            pos += 1
    raise ValueError("a quoted value has no closing quote")


def parse_contig_line(line: str, kind: str) -> ContigLine:
    """Parse a `##contig=<ID=...,length=...>` line, naming the format `kind` in errors."""
    if not line.startswith(CONTIG_PREFIX) or not line.endswith(">"):
        raise FormatError(f"corrupt {kind} header: malformed contig line {line[:200]!r}")
    try:
        fields = parse_structured_fields(line[len(CONTIG_PREFIX) : -1])
    except ValueError as exc:
        raise FormatError(
            f"corrupt {kind} header: malformed contig line {line[:200]!r}: {exc}"
        ) from None
    name = fields.get("ID")
    if not name:
        raise FormatError(f"corrupt {kind} header: contig line without ID: {line[:200]!r}")
    length = _parse_count(fields.get("length"), "length", name, kind)
    idx = _parse_count(fields.get("IDX"), "IDX", name, kind)
    return ContigLine(name, length, idx)


def _parse_count(value: str | None, key: str, name: str, kind: str) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise FormatError(
            f"corrupt {kind} header: contig {name!r} has {key}={value!r}, "
            "which is not a non-negative integer"
        )
    return int(value)


def contig_lines(text: str, kind: str) -> list[ContigLine]:
    """Return the `##contig` lines of a header text in file order."""
    return [
        parse_contig_line(line, kind)
        for line in text.splitlines()
        if line.startswith(CONTIG_PREFIX)
    ]
