"""Handlers for the htsget endpoints."""

from __future__ import annotations

import json
from typing import Any

from connexion.lifecycle import ConnexionResponse

from service.handlers.context import TICKET_MEDIA_TYPE, query_keys, request_context, services
from service.htsget.core import service_info as build_service_info
from service.htsget.query import Endpoint


def _ticket_response(ticket: dict[str, Any]) -> ConnexionResponse:
    body = json.dumps(ticket, separators=(",", ":"))
    return ConnexionResponse(status_code=200, content_type=TICKET_MEDIA_TYPE, body=body)


def get_reads(id: str, **params: Any) -> ConnexionResponse:
    return _ticket_response(services().htsget.get(Endpoint.READS, id, params, request_context()))


def get_variants(id: str, **params: Any) -> ConnexionResponse:
    return _ticket_response(services().htsget.get(Endpoint.VARIANTS, id, params, request_context()))


def post_reads(id: str, body: dict[str, Any]) -> ConnexionResponse:
    ticket = services().htsget.post(Endpoint.READS, id, body, query_keys(), request_context())
    return _ticket_response(ticket)


def post_variants(id: str, body: dict[str, Any]) -> ConnexionResponse:
    ticket = services().htsget.post(Endpoint.VARIANTS, id, body, query_keys(), request_context())
    return _ticket_response(ticket)


def service_info() -> dict[str, Any]:
    return build_service_info(None, services().settings.base_url)


def reads_service_info() -> dict[str, Any]:
    return build_service_info(Endpoint.READS, services().settings.base_url)


def variants_service_info() -> dict[str, Any]:
    return build_service_info(Endpoint.VARIANTS, services().settings.base_url)
