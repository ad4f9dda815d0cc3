"""Handlers for the embedded Passport broker; errors use the OAuth 2.0 JSON bodies."""

from __future__ import annotations

import json
import logging
from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse

from service.auth.broker import TokenExchangeError
from service.auth.errors import InvalidAuthentication
from service.auth.node import NodeBroker
from service.errors import NotFound
from service.handlers.context import services

logger = logging.getLogger(__name__)

# Token-bearing responses must not be cached (GA4GH AAI 1.2, RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _broker() -> NodeBroker:
    broker = services().auth.broker
    if broker is None:
        raise NotFound("this node runs no embedded broker; set auth.embedded_broker to true")
    return broker


def _request_id() -> str:
    return str(request.scope.get("consentry.request_id", "-"))


def _json(status: int, body: dict[str, Any], headers: dict[str, str]) -> ConnexionResponse:
    return ConnexionResponse(status_code=status, content_type="application/json",
                             body=json.dumps(body), headers=headers)


def openid_configuration() -> dict[str, Any]:
    return _broker().discovery()


def jwks() -> ConnexionResponse:
    return _json(200, _broker().jwks(), {"Cache-Control": "public, max-age=300"})


def token(body: dict[str, Any] | None = None) -> ConnexionResponse:
    form = {name: str(value) for name, value in (body or {}).items() if value is not None}
    try:
        result = _broker().exchange(form)
    except TokenExchangeError as exc:
        logger.info("token exchange rejected request_id=%s: %s", _request_id(), exc)
        error = {"error": exc.error, "error_description": exc.description}
        return _json(400, error, NO_STORE)
    return _json(200, result, NO_STORE)


def userinfo() -> ConnexionResponse:
    scheme, _, access_token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not access_token.strip():
        challenge = {"WWW-Authenticate": 'Bearer realm="consentry-broker"', **NO_STORE}
        message = "send the access token as 'Authorization: Bearer <token>'"
        return _json(401, {"error": "invalid_request", "error_description": message}, challenge)
    try:
        claims = _broker().userinfo(access_token.strip())
    except InvalidAuthentication as exc:
        logger.info("userinfo rejected request_id=%s: %s", _request_id(), exc.message)
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"', **NO_STORE}
        return _json(401, {"error": "invalid_token", "error_description": exc.message}, challenge)
    return _json(200, claims, NO_STORE)
