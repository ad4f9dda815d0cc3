"""Handlers for the GA4GH DRS 1.5 endpoints under /ga4gh/drs/v1."""

from __future__ import annotations

from typing import Any

from service.drs.core import DrsCaller, DrsService
from service.errors import NotFound
from service.handlers.context import request_context, services

# Access URLs are signed and short-lived, so neither clients nor proxies may keep them.
NO_STORE = {"Cache-Control": "no-store"}

Response = tuple[dict[str, Any], int, dict[str, str]]


def _drs() -> DrsService:
    found = services().drs
    if found is None:
        raise NotFound("this node has no DRS registry configured")
    return found


def _caller(body: dict[str, Any] | None = None) -> DrsCaller:
    context = request_context()
    passports = tuple((body or {}).get("passports") or ())
    return DrsCaller(context.request_id, context.authorization, passports)


def service_info() -> dict[str, Any]:
    return _drs().service_info()


def get_object(object_id: str, expand: bool = False) -> dict[str, Any]:
    return _drs().get_object(object_id, _caller())


def post_object(object_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return _drs().get_object(object_id, _caller(body))


def options_object(object_id: str) -> dict[str, Any]:
    return _drs().options_object(object_id)


def get_access_url(object_id: str, access_id: str) -> Response:
    return _drs().access_url(object_id, access_id, _caller()), 200, NO_STORE


def post_access_url(object_id: str, access_id: str, body: dict[str, Any]) -> Response:
    return _drs().access_url(object_id, access_id, _caller(body)), 200, NO_STORE


def bulk_objects(body: dict[str, Any], expand: bool = False) -> dict[str, Any]:
    return _drs().bulk_objects(body["bulk_object_ids"], _caller(body))


def bulk_options(body: dict[str, Any]) -> dict[str, Any]:
    return _drs().bulk_options(body["bulk_object_ids"])


def bulk_access_urls(body: dict[str, Any]) -> Response:
    requested = [
        (item["bulk_object_id"], item["bulk_access_ids"]) for item in body["bulk_object_access_ids"]
    ]
    return _drs().bulk_access(requested, _caller(body)), 200, NO_STORE
