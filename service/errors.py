"""The error hierarchy of the domain layer, named as the GA4GH specifications name them.

Domain code raises these; `service/http_errors.py` maps each class to an
HTTP status and to the htsget or DRS error body in one table. Messages are
shown to clients, so they name the offending value and never contain a
token, a visa or a signed URL.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class; `name` is the error name the htsget specification uses."""

    name = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAuthentication(ServiceError):
    """Credentials are missing, unreadable or invalid."""

    name = "InvalidAuthentication"


class PermissionDenied(ServiceError):
    """The credentials are valid but do not grant access to the object."""

    name = "PermissionDenied"


class NotFound(ServiceError):
    """The object, or a reference named in the query, does not exist."""

    name = "NotFound"


class PayloadTooLarge(ServiceError):
    """The request body is larger than the configured limit."""

    name = "PayloadTooLarge"


class UnsupportedFormat(ServiceError):
    """The requested format is not one this endpoint serves."""

    name = "UnsupportedFormat"


class InvalidInput(ServiceError):
    """A parameter or the request body is malformed or not allowed here."""

    name = "InvalidInput"


class InvalidRange(ServiceError):
    """The requested genomic or byte range is invalid."""

    name = "InvalidRange"


class ServiceUnavailable(ServiceError):
    """A backend (storage, consent chain) failed; the client may retry later."""

    name = "ServiceUnavailable"
