"""Per-request access to the node's services and request metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connexion import request

if TYPE_CHECKING:
    from service.app import Services

from service.htsget.core import RequestContext

TICKET_MEDIA_TYPE = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8"


def services() -> Services:
    """Return the services of the app that is handling the current request."""
    found: Services = request.scope["consentry.services"]
    return found


def request_context() -> RequestContext:
    """Return the request id and the raw Authorization header of the current request."""
    return RequestContext(
        request_id=str(request.scope.get("consentry.request_id", "-")),
        authorization=request.headers.get("authorization"),
    )


def query_keys() -> list[str]:
    """Return the names of the query-string parameters of the current request."""
    return list(request.query_params.keys())



def range_header() -> str | None:
    """Return the Range header of the current request, if any."""
    value: str | None = request.headers.get("range")
    return value
