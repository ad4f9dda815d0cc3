"""Handler for the signed `/data/{key}` endpoint of the local storage backend."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.responses import Response, StreamingResponse

from service.data_urls import resolve_slice
from service.errors import NotFound
from service.handlers.context import range_header, services

_CHUNK = 1 << 20


def get_data(key: str, start: int, end: int, expires: int, signature: str) -> Response:
    found = services()
    if found.signer is None:
        raise NotFound("this node serves data from S3; the /data endpoint is not in use")
    data = resolve_slice(found.signer, key, (start, end, expires, signature), range_header())
    storage = found.storage

    def stream() -> Iterator[bytes]:
        for offset in range(data.start, data.end, _CHUNK):
            yield storage.read_range(key, offset, min(offset + _CHUNK, data.end))

    # Reject a vanished object before the status line goes out.
    size = storage.head(key).size
    headers = {"Content-Length": str(data.end - data.start), "Cache-Control": "private, no-store"}
    if data.partial:
        headers["Content-Range"] = f"bytes {data.start}-{data.end - 1}/{size}"
    return StreamingResponse(
        stream(),
        status_code=206 if data.partial else 200,
        headers=headers,
        media_type="application/octet-stream",
    )
