"""Canonical JSON per RFC 8785 (JCS) for the value types the chain uses.

Supported values are None, bool, int (within +/-(2**53 - 1), the range JCS
numbers represent exactly), str, list and dict with str keys. Floats are
rejected because the chain never needs them and their JCS form is easy to
get wrong in other languages.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

from consent_chain.errors import CanonicalError

MAX_SAFE_INTEGER = 2**53 - 1


def canonical_bytes(value: object) -> bytes:
    """Encode `value` as RFC 8785 canonical JSON (UTF-8, no whitespace, sorted keys)."""
    if _json_dumps_is_canonical(value):
        try:
            return _SORTED_ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the encoder below names where it is
    parts: list[str] = []
    _encode(value, parts, "$")
    text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CanonicalError(
            f"string contains a lone surrogate at offset {error.start}; "
            "use valid Unicode text"
        ) from error


def sha256(data: bytes) -> bytes:
    """Return the SHA-256 digest of `data`."""
    return hashlib.sha256(data).digest()


def decode_canonical(data: bytes) -> Any:
    """Parse `data` as JSON and reject it unless it is exactly its canonical encoding."""
    if data.isascii():
        value = _decode_ascii(data)
        if value is not None:
            return value
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text,
            parse_float=_reject_float,
            parse_constant=_reject_float,
            object_pairs_hook=_reject_duplicate_keys,
        )
        encoded = canonical_bytes(value)
    except ValueError as error:  # also UnicodeDecodeError and json.JSONDecodeError
        raise CanonicalError(f"bytes are not valid UTF-8 JSON: {error}") from error
    except RecursionError as error:
        # Chain documents nest a few levels; Python's parser stops near 1,000.
        raise CanonicalError("JSON nests too deeply to decode") from error
    if encoded != data:
        raise CanonicalError("JSON is valid but not in RFC 8785 canonical form")
    return value


def _decode_ascii(data: bytes) -> Any:
    """Return the value of canonical ASCII JSON `data`, or None to take the full check.

    The parse hooks reject floats, NaN and unsafe integers, and every key of
    ASCII text is ASCII, so `json.dumps` gives the canonical form of what
    was parsed. When that form equals `data`, `data` is canonical: a
    duplicate key, an escape RFC 8785 does not use or any extra whitespace
    would make the two differ. Any difference, or any error, returns None
    so that `decode_canonical` names the problem.
    """
    text = data.decode("ascii")
    try:
        value = _STRICT_DECODER.decode(text)
        encoded = _SORTED_ENCODER.encode(value)
    except (CanonicalError, ValueError, RecursionError):
        return None
    return value if encoded == text else None


def _json_dumps_is_canonical(value: object) -> bool:
    """Return True when `json.dumps` with sorted keys gives the RFC 8785 form of `value`.

    That holds for None, bools, ints in the safe range, strings, lists,
    tuples and dicts whose keys are ASCII strings: Python sorts keys by code
    point, which equals RFC 8785's UTF-16 order for ASCII, and escapes
    strings as `_quote` does. Anything else takes the slower encoder, which
    also builds the error messages. This check is several times faster than
    that encoder, which matters because every transaction is encoded on
    signing and checked again on every verification.
    """
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if abs(cast(int, item)) > MAX_SAFE_INTEGER:
                return False
        elif kind is list or kind is tuple:
            pending.extend(cast("list[object]", item))
        elif kind is dict:
            for key, member in cast("dict[object, object]", item).items():
                if type(key) is not str or not key.isascii():
                    return False
                pending.append(member)
        else:
            return False
    return True


def _encode(value: object, parts: list[str], path: str) -> None:
    # bool is checked before int because bool is a subclass of int.
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(
                f"integer {value} at {path} is outside +/-(2**53 - 1); encode it as a string"
            )
        parts.append(str(value))
    elif isinstance(value, str):
        parts.append(_quote(value))
    elif isinstance(value, list | tuple):
        _encode_array(value, parts, path)
    elif isinstance(value, dict):
        _encode_object(value, parts, path)
    elif isinstance(value, float):
        raise CanonicalError(f"float {value!r} at {path} is not allowed; use an integer")
    else:
        raise CanonicalError(f"value of type {type(value).__name__} at {path} is not JSON")


def _encode_array(items: list[object] | tuple[object, ...], parts: list[str], path: str) -> None:
    parts.append("[")
    for index, item in enumerate(items):
        if index:
            parts.append(",")
        _encode(item, parts, f"{path}[{index}]")
    parts.append("]")


def _encode_object(members: dict[object, object], parts: list[str], path: str) -> None:
    for key in members:
        if not isinstance(key, str):
            raise CanonicalError(f"object key {key!r} at {path} is not a string")
    # RFC 8785 section 3.2.3: sort keys by their UTF-16 code units.
    keys = sorted(members, key=lambda key: str(key).encode("utf-16-be", "surrogatepass"))
    parts.append("{")
    for index, key in enumerate(keys):
        if index:
            parts.append(",")
        parts.append(_quote(str(key)))
        parts.append(":")
        _encode(members[key], parts, f"{path}.{key}")
    parts.append("}")


def _quote(text: str) -> str:
    # json.dumps with ensure_ascii=False escapes exactly what RFC 8785 escapes:
    # '"', '\\', the short forms \b \f \n \r \t, and other controls as \u00xx.
    return json.dumps(text, ensure_ascii=False)


def _safe_int(literal: str) -> int:
    number = int(literal)
    if abs(number) > MAX_SAFE_INTEGER:
        raise CanonicalError(f"integer {literal} is outside +/-(2**53 - 1)")
    return number


def _reject_float(literal: str) -> Any:
    raise CanonicalError(f"number {literal} is not an integer; the chain has no floats")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalError(f"object has duplicate key {key!r}")
        result[key] = value
    return result



# Built once: constructing them costs about a microsecond per call, and
# neither keeps state between calls.
_STRICT_DECODER = json.JSONDecoder(
    parse_float=_reject_float, parse_constant=_reject_float, parse_int=_safe_int
)
_SORTED_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
