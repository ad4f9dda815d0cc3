"""GA4GH Passport clearinghouse core and embedded broker; no web framework imports here."""

from service.auth.cache import VerifiedPassportCache
from service.auth.errors import InvalidAuthentication, PermissionDenied
from service.auth.models import AcceptedVisa, Identity, RejectedVisa, VisaType
from service.auth.passport import PassportVerifier
from service.auth.policy import grants_access, has_registered_access, require_access
from service.auth.trust import PassportTrust, TrustedIssuer

__all__ = [
    "AcceptedVisa",
    "Identity",
    "InvalidAuthentication",
    "PassportTrust",
    "PassportVerifier",
    "PermissionDenied",
    "RejectedVisa",
    "TrustedIssuer",
    "VerifiedPassportCache",
    "VisaType",
    "grants_access",
    "has_registered_access",
    "require_access",
]
