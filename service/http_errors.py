"""The one table that maps domain errors to HTTP statuses and error bodies."""

from __future__ import annotations

from typing import Any

from service.errors import (
    InvalidAuthentication,
    InvalidInput,
    InvalidRange,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ServiceError,
    ServiceUnavailable,
    UnsupportedFormat,
)

STATUS_BY_ERROR: dict[type[ServiceError], int] = {
    InvalidAuthentication: 401,
    PermissionDenied: 403,
    NotFound: 404,
    PayloadTooLarge: 413,
    UnsupportedFormat: 400,
    InvalidInput: 400,
    InvalidRange: 400,
    ServiceUnavailable: 503,
}

HTSGET_ERROR_MEDIA_TYPE = "application/json"


def status_for(error: ServiceError) -> int:
    """Return the HTTP status of `error`, walking up its class hierarchy; 500 if unmapped."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def htsget_body(error: ServiceError) -> dict[str, Any]:
    """Return the htsget error envelope `{"htsget": {"error", "message"}}`."""
    return {"htsget": {"error": error.name, "message": error.message}}


def drs_body(error: ServiceError) -> dict[str, Any]:
    """Return the DRS error body `{"msg", "status_code"}`."""
    return {"msg": error.message, "status_code": status_for(error)}


DRS_PATH_PREFIX = "/ga4gh/drs/"


def error_body(path: str, error: ServiceError) -> dict[str, Any]:
    """Return `error` in the body format of the API that `path` belongs to."""
    return drs_body(error) if path.startswith(DRS_PATH_PREFIX) else htsget_body(error)
