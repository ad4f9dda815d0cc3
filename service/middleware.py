"""ASGI middleware: request ids, the node's services in the request scope, body size limits."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PayloadTooLarge
from service.http_errors import error_body, status_for

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ServicesMiddleware:
    """Put the node's services and a request id into every request's scope.

    A client's `X-Request-Id` is kept when it is short and plain, so logs of
    client and server can be matched; otherwise a new id is made.
    """

    def __init__(self, app: ASGIApp, services: Any) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        scope["consentry.services"] = self.services
        scope["consentry.request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Reject request bodies over `max_bytes` with PayloadTooLarge (413) in the API's error format.

    The declared Content-Length is checked first. The body is then read in
    full (it is at most `max_bytes`), so a chunked body is cut off as soon as
    it passes the limit, before any handler sees it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send, int(declared))
            return

        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > self.max_bytes:
                await self._reject(scope, send, received)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, send: Send, size: int) -> None:
        error = PayloadTooLarge(
            f"the request body has at least {size} bytes; the limit is {self.max_bytes} bytes"
        )
        body = json.dumps(error_body(scope["path"], error)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status_for(error),
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

