"""Errors raised when a passport is checked; the service maps them to HTTP 401 and 403.

InvalidAuthentication: no passport, or the passport failed a check.
PermissionDenied: the passport is valid but contains no visa that grants the request.
"""

from service.errors import InvalidAuthentication, PermissionDenied

__all__ = ["InvalidAuthentication", "PermissionDenied"]
