"""Errors the service maps to HTTP 401 and 403 when a passport is checked."""


class AuthError(Exception):
    """Base class for passport authentication and authorisation failures."""


class InvalidAuthentication(AuthError):
    """The request carries no passport, or the passport failed a check (HTTP 401)."""


class PermissionDenied(AuthError):
    """The passport is valid but contains no visa that grants the request (HTTP 403)."""
