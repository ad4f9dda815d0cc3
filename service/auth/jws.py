"""Parse and verify compact JWS tokens signed with the algorithms GA4GH allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.types import Options

# GA4GH AAI 1.2 "Signing Algorithms": RS256 or ES256, nothing else.
ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
REQUIRED_CLAIMS = ("iss", "sub", "iat", "exp")


# Messages quote unverified header and claim values (kid, iss, typ, ...),
# which an attacker can make as long as the size limits allow. They end up
# in 401/403 bodies and log lines, so each message is cut to this length.
MAX_MESSAGE_LENGTH = 300


class TokenError(Exception):
    """A token failed a check; the message names the check and never contains the token.

    Messages longer than MAX_MESSAGE_LENGTH characters are cut, with "..."
    at the end.
    """

    def __init__(self, message: str) -> None:
        if len(message) > MAX_MESSAGE_LENGTH:
            message = message[: MAX_MESSAGE_LENGTH - 3] + "..."
        super().__init__(message)


class TokenExpired(TokenError):
    """The token's `exp` is in the past, beyond the allowed clock skew."""

    def __init__(self, exp: float) -> None:
        expired_at = datetime.fromtimestamp(exp, UTC).isoformat(timespec="seconds")
        super().__init__(f"token expired at {expired_at} (exp is in the past)")
        self.exp = exp


@dataclass(frozen=True)
class TokenHeader:
    """The JOSE header fields Consentry reads."""

    alg: str
    kid: str | None
    typ: str | None
    jku: str | None


def read_header(token: str) -> TokenHeader:
    """Read the unverified JOSE header and reject algorithms other than RS256 and ES256."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise TokenError("malformed JWS: the header is not base64url-encoded JSON") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"JOSE header is invalid: {exc}") from None

    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise TokenError(f"algorithm {alg!r} is not allowed; tokens must use RS256 or ES256")
    if "crit" in header:
        raise TokenError("header parameter 'crit' lists extensions Consentry does not support")

    fields: dict[str, str | None] = {}
    for name in ("kid", "typ", "jku"):
        value = header.get(name)
        if value is not None and not isinstance(value, str):
            raise TokenError(f"header parameter {name!r} must be a string")
        fields[name] = value
    return TokenHeader(alg=alg, kid=fields["kid"], typ=fields["typ"], jku=fields["jku"])


def media_type(typ: str | None) -> str | None:
    """Normalise a `typ` value: lower case, without the optional `application/` prefix."""
    if typ is None:
        return None
    lowered = typ.lower()
    return lowered.removeprefix("application/")


def read_unverified_claims(token: str) -> dict[str, Any]:
    """Decode the payload without checking the signature, to pick the issuer's keys."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenError(
            "malformed JWS: the payload is not a base64url-encoded JSON object"
        ) from None
    if not isinstance(claims, dict):
        raise TokenError("malformed JWS: the payload is not a JSON object")
    return claims


def verify_signature(token: str, key: Any, alg: str) -> dict[str, Any]:
    """Check the signature with `key` and return the claims; time claims are checked later."""
    options: Options = {
        "require": list(REQUIRED_CLAIMS),
        "verify_exp": False,
        "verify_iat": False,
        "verify_nbf": False,
        "verify_aud": False,
        "verify_iss": False,
    }
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=[alg], options=options)
    except jwt.InvalidSignatureError:
        raise TokenError("signature verification failed") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(f"required claim {exc.claim!r} is missing") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"token is invalid: {exc}") from None
    return claims


def check_registered_claims(claims: dict[str, Any], now: float, leeway: float) -> None:
    """Check `iss`, `sub`, `iat`, `exp` and `nbf` types and times, allowing `leeway` seconds."""
    for name in ("iss", "sub"):
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise TokenError(f"claim {name!r} must be a non-empty string")

    times: dict[str, float] = {}
    for name in ("iat", "exp", "nbf"):
        value = claims.get(name)
        if value is None and name == "nbf":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TokenError(f"claim {name!r} must be a number of seconds since the epoch")
        times[name] = float(value)

    if times["exp"] <= now - leeway:
        raise TokenExpired(times["exp"])
    if times["iat"] > now + leeway:
        raise TokenError("token was issued in the future (iat is after the current time)")
    if "nbf" in times and times["nbf"] > now + leeway:
        raise TokenError("token is not valid yet (nbf is in the future)")
    if times["exp"] <= times["iat"]:
        raise TokenError("token expires before it was issued (exp is not after iat)")
