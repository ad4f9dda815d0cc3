"""Check requests to the signed `/data` endpoint and work out which bytes to send."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.storage.signing import DataUrlSigner, InvalidSignature
from service.errors import InvalidAuthentication, InvalidRange

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class DataSlice:
    """Bytes `[start, end)` of `key` to send; `partial` when a Range header asked for them."""

    key: str
    start: int
    end: int
    partial: bool


def resolve_slice(
    signer: DataUrlSigner,
    key: str,
    signed: tuple[int, int, int, str],
    range_header: str | None,
) -> DataSlice:
    """Verify the signature `(start, end, expires, signature)` and apply the Range header."""
    start, end, expires, signature = signed
    try:
        grant = signer.verify(key, start, end, expires, signature)
    except InvalidSignature as exc:
        raise InvalidAuthentication(str(exc)) from exc
    if range_header is None:
        return DataSlice(key, grant.start, grant.end, partial=False)

    match = _RANGE.match(range_header.strip())
    if not match or match.group(1) == match.group(2) == "":
        raise InvalidRange(
            f"Range header {range_header!r} is not a single range such as 'bytes=0-1023'"
        )
    first, last = match.groups()
    if first == "":
        length = int(last)
        lo, hi = max(grant.start, grant.end - length), grant.end
    else:
        lo = int(first)
        hi = grant.end if last == "" else int(last) + 1
    if lo < grant.start or hi > grant.end or lo >= hi:
        raise InvalidRange(
            f"Range {range_header!r} is outside the signed range "
            f"bytes={grant.start}-{grant.end - 1} of this URL"
        )
    return DataSlice(key, lo, hi, partial=True)
