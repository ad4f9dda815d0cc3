"""Render every error as the spec's JSON body, using the one status table in http_errors."""

from __future__ import annotations

import json
import logging
import uuid

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from adapters.errors import ObjectNotFound, StorageUnavailable
from service.errors import InvalidInput, NotFound, ServiceError, ServiceUnavailable
from service.http_errors import error_body, status_for

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5



def error_response(request: ConnexionRequest, error: ServiceError) -> ConnexionResponse:
    """Return `error` in the body format of the API the request was sent to."""
    status = status_for(error)
    path = request.url.path
    body = error_body(path, error)
    request_id = request.scope.get("consentry.request_id", "-")
    level = logging.WARNING if status >= 500 else logging.INFO
    logger.log(level, "request_id=%s %s %s -> %d %s: %s", request_id, request.method, path,
               status, error.name, error.message)
    headers: dict[str, str] = {}
    if status == 401:
        # RFC 6750 section 3: a 401 names the scheme the client should use.
        headers["WWW-Authenticate"] = 'Bearer realm="consentry"'
    elif status == 503:
        # RFC 9110 section 10.2.3. The chain's store calls give up after about
        # 5 s, so a retry sooner than that mostly meets the same outage.
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return ConnexionResponse(
        status_code=status, content_type="application/json", body=json.dumps(body),
        headers=headers,
    )


def _service_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ServiceError)
    return error_response(request, exc)


def _adapter_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    if isinstance(exc, ObjectNotFound):
        return error_response(request, NotFound(f"no object with key {exc.key!r}"))
    return error_response(request, ServiceUnavailable("storage is unavailable; retry later"))


def _problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Turn connexion's validation and routing problems into spec errors."""
    status = int(getattr(exc, "status_code", None) or getattr(exc, "status", None) or 500)
    detail = getattr(exc, "detail", None) or str(exc)
    if status == 404:
        return error_response(request, NotFound(f"no endpoint at {request.url.path}"))
    if status == 405:
        return error_response(request, InvalidInput(f"method {request.method} is not allowed here"))
    if 400 <= status < 500:
        # jsonschema details run over several lines with the schema; the first names the value.
        return error_response(request, InvalidInput(str(detail).splitlines()[0]))
    return _unexpected(request, exc)


def _unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Log an unexpected failure under an error id and hide its details from the client."""
    error_id = uuid.uuid4().hex[:12]
    logger.error("error_id=%s unhandled error on %s %s", error_id, request.method,
                 request.url.path, exc_info=exc)
    body = {"htsget": {"error": "InternalError", "message": f"internal error {error_id}"}}
    return ConnexionResponse(status_code=500, content_type="application/json",
                             body=json.dumps(body))


def register_error_handlers(app: AsyncApp) -> None:
    app.add_error_handler(ServiceError, _service_error)
    app.add_error_handler(ObjectNotFound, _adapter_error)
    app.add_error_handler(StorageUnavailable, _adapter_error)
    app.add_error_handler(ProblemException, _problem)
    app.add_error_handler(HTTPException, _problem)
    app.add_error_handler(Exception, _unexpected)
