"""The `X-Consent-Decision` response header: the chain tx hash of the request's access decision.

`ConsentHeaderMiddleware` gives every request an empty list in a context
variable. The access policy appends the tx hash of each decision it records,
and the middleware adds the header to 2xx, 401 and 403 responses. Handlers
run in a worker thread with a copy of the request's context, and that copy
still refers to the same list, so the hash reaches the middleware.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Consent-Decision"
_DECISIONS: ContextVar[list[str] | None] = ContextVar("consent_decisions", default=None)


def note_decision(tx_hash: str) -> None:
    """Remember a decision's tx hash for the current request's response header."""
    decisions = _DECISIONS.get()
    if decisions is not None:
        decisions.append(tx_hash)


def _carries_header(status: int) -> bool:
    return 200 <= status < 300 or status in (401, 403)


class ConsentHeaderMiddleware:
    """Add `X-Consent-Decision` to responses of requests whose access decision was recorded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decisions: list[str] = []
        token = _DECISIONS.set(decisions)

        async def send_with_decision(message: Message) -> None:
            starting = message["type"] == "http.response.start"
            if starting and decisions and _carries_header(int(message["status"])):
                value = ", ".join(decisions).encode("ascii")
                message["headers"] = [*message.get("headers", []),
                                      (HEADER.lower().encode("ascii"), value)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_decision)
        finally:
            _DECISIONS.reset(token)
