"""Verify one visa JWT: signature by a trusted visa issuer, claims and standard-type rules."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from service.auth.conditions import ConditionError, parse_conditions
from service.auth.jwks import JwksCache
from service.auth.jws import (
    TokenError,
    TokenHeader,
    check_registered_claims,
    media_type,
    read_header,
    read_unverified_claims,
    verify_signature,
)
from service.auth.linking import parse_linked_identities
from service.auth.models import STANDARD_VISA_TYPES, Visa, VisaType, token_id
from service.auth.trust import PassportTrust, TrustedIssuer

VISA_MEDIA_TYPES = frozenset({"vnd.ga4gh.visa+jwt", "jwt"})
BY_VALUES = frozenset({"self", "peer", "system", "so", "dac"})
MAX_URL_LENGTH = 255
# Visa Access Tokens are valid for one hour after `iat` unless the clearinghouse polls
# the issuer's /userinfo endpoint. Consentry polls only for bearer access tokens
# (service/auth/userinfo.py), never for visas inside a passport.
VISA_ACCESS_TOKEN_MAX_AGE = 3600
EDUPERSON_ROLES = frozenset({"faculty", "student", "member"})
CUSTOM_ROLE = re.compile(r"[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*")
URL_VALUE_TYPES = frozenset(
    {
        VisaType.ACCEPTED_TERMS_AND_POLICIES,
        VisaType.RESEARCHER_STATUS,
        VisaType.CONTROLLED_ACCESS_GRANTS,
    }
)
BY_REQUIRED_TYPES = frozenset(
    {VisaType.ACCEPTED_TERMS_AND_POLICIES, VisaType.CONTROLLED_ACCESS_GRANTS}
)


def verify_visa(token: str, trust: PassportTrust, keys: JwksCache, now: float) -> Visa:
    """Verify a visa on its own; raise TokenError naming the failed check."""
    header = read_header(token)
    if media_type(header.typ) not in (None, *VISA_MEDIA_TYPES):
        raise TokenError(f"visa typ {header.typ!r} is not vnd.ga4gh.visa+jwt or JWT")

    iss = read_unverified_claims(token).get("iss")
    if iss is None:
        raise TokenError("required claim 'iss' is missing")
    issuer = trust.visa_issuer(iss) if isinstance(iss, str) else None
    if issuer is None:
        raise TokenError(f"visa issuer {iss!r} is not a trusted visa issuer")

    key = keys.key_for(issuer, header.kid, header.jku, header.alg)
    claims = verify_signature(token, key, header.alg)
    check_registered_claims(claims, now, trust.leeway_seconds)
    check_token_format(claims, header, now)

    visa = read_visa_object(claims, token)
    check_source_allowed(visa, issuer)
    if visa.type in STANDARD_VISA_TYPES:
        check_standard_type(visa)
    return visa


def check_token_format(claims: dict[str, Any], header: TokenHeader, now: float) -> None:
    """Check the Visa Document Token (`jku`) or Visa Access Token (`scope`) rules."""
    scope = claims.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise TokenError("visa claim 'scope' must be a string")
    scopes = scope.split() if scope else []
    if header.jku is None and scope is None:
        raise TokenError("visa has neither a jku header nor a scope claim")
    if header.jku is not None and "openid" in scopes:
        raise TokenError("visa document token (jku header) must not have the openid scope")
    if "openid" in scopes and now - float(claims["iat"]) > VISA_ACCESS_TOKEN_MAX_AGE:
        raise TokenError("visa access token is older than one hour and cannot be rechecked")


def read_visa_object(claims: dict[str, Any], token: str) -> Visa:
    """Read the `ga4gh_visa_v1` claim into a Visa."""
    visa_object = claims.get("ga4gh_visa_v1")
    if not isinstance(visa_object, dict):
        raise TokenError("claim 'ga4gh_visa_v1' is missing or not a JSON object")

    fields: dict[str, str] = {}
    for name in ("type", "value", "source"):
        value = visa_object.get(name)
        if not isinstance(value, str) or not value:
            raise TokenError(f"visa field {name!r} is missing or not a non-empty string")
        fields[name] = value

    asserted = visa_object.get("asserted")
    if isinstance(asserted, bool) or not isinstance(asserted, int | float):
        raise TokenError("visa field 'asserted' is missing or not a number")
    if asserted > claims["iat"]:
        raise TokenError("visa field 'asserted' is later than the visa's iat")

    by = visa_object.get("by")
    if by is not None and by not in BY_VALUES:
        raise TokenError(f"visa field 'by' is {by!r}, not one of {sorted(BY_VALUES)}")

    try:
        conditions = parse_conditions(visa_object.get("conditions"))
    except ConditionError as exc:
        raise TokenError(f"visa field 'conditions' is malformed: {exc}") from None

    return Visa(
        type=fields["type"],
        value=fields["value"],
        source=fields["source"],
        by=by,
        iss=claims["iss"],
        sub=claims["sub"],
        visa_id=token_id(claims, token),
        iat=float(claims["iat"]),
        exp=float(claims["exp"]),
        asserted=float(asserted),
        conditions=conditions,
    )


def check_source_allowed(visa: Visa, issuer: TrustedIssuer) -> None:
    """Apply the issuer's `allowed_sources` list, when it has one."""
    if issuer.allowed_sources and visa.source not in issuer.allowed_sources:
        raise TokenError(f"visa source {visa.source!r} is not trusted for issuer {issuer.iss!r}")


def check_standard_type(visa: Visa) -> None:
    """Apply the value, source and `by` rules of the GA4GH standard visa types."""
    check_url("source", visa.source)
    if visa.type in URL_VALUE_TYPES:
        check_url("value", visa.value)
    if visa.type in BY_REQUIRED_TYPES and visa.by is None:
        raise TokenError(f"{visa.type} visa has no 'by' field")
    if visa.type == VisaType.AFFILIATION_AND_ROLE:
        check_affiliation(visa.value)
    if visa.type == VisaType.LINKED_IDENTITIES:
        try:
            parse_linked_identities(visa.value)
        except ValueError as exc:
            raise TokenError(f"LinkedIdentities value is malformed: {exc}") from None


def check_url(field: str, value: str) -> None:
    """Require an absolute URL of at most 255 characters, used as an opaque identifier."""
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        raise TokenError(f"visa field {field!r} is not an absolute URL")
    if len(value) > MAX_URL_LENGTH:
        raise TokenError(f"visa field {field!r} is longer than {MAX_URL_LENGTH} characters")


def check_affiliation(value: str) -> None:
    """Require `role@organisation` with an eduPerson role or a `namespace.role` custom role."""
    role, separator, organisation = value.partition("@")
    if not separator or not organisation:
        raise TokenError("AffiliationAndRole value is not of the form role@organisation")
    if role not in EDUPERSON_ROLES and not CUSTOM_ROLE.fullmatch(role):
        raise TokenError(
            f"AffiliationAndRole role {role!r} is not faculty, student, member or namespace.role"
        )
