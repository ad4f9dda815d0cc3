"""Verify passport-scoped access tokens: JWTs from a trusted broker that carry no visas."""

from __future__ import annotations

from typing import Any

from service.auth.jwks import JwksCache
from service.auth.jws import (
    TokenError,
    check_registered_claims,
    media_type,
    read_header,
    read_unverified_claims,
    verify_signature,
)
from service.auth.passport import PASSPORT_CLAIM, PASSPORT_MEDIA_TYPE
from service.auth.trust import PassportTrust

PASSPORT_SCOPE = "ga4gh_passport_v1"


def access_token_issuer(token: str) -> str | None:
    """Return the `iss` of a token that looks like an access token rather than a passport.

    A token counts as an access token when its `typ` is not the passport media type and
    its payload has no `ga4gh_passport_v1` claim. Nothing is verified here.
    """
    try:
        header = read_header(token)
        claims = read_unverified_claims(token)
    except TokenError:
        return None
    if media_type(header.typ) == PASSPORT_MEDIA_TYPE or PASSPORT_CLAIM in claims:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) else None


def verify_access_token(
    token: str, trust: PassportTrust, keys: JwksCache, now: float
) -> dict[str, Any]:
    """Check signature, times and scope of an access token from a trusted broker.

    Raise TokenError naming the failed check; return the verified claims.
    """
    size = len(token.encode("utf-8"))
    if size > trust.max_token_bytes:
        raise TokenError(f"access token is {size} bytes, more than the limit of "
                         f"{trust.max_token_bytes}")
    header = read_header(token)
    iss = read_unverified_claims(token).get("iss")
    broker = trust.broker(iss) if isinstance(iss, str) else None
    if broker is None:
        raise TokenError(f"access token issuer {iss!r} is not a trusted broker")

    key = keys.key_for(broker, header.kid, header.jku, header.alg)
    claims = verify_signature(token, key, header.alg)
    check_registered_claims(claims, now, trust.leeway_seconds)
    scope = claims.get("scope")
    scopes = scope.split() if isinstance(scope, str) else []
    if PASSPORT_SCOPE not in scopes:
        raise TokenError(f"access token scope does not include {PASSPORT_SCOPE!r}")
    if PASSPORT_CLAIM in claims:
        raise TokenError(f"access token must not carry the {PASSPORT_CLAIM!r} claim")
    return claims
