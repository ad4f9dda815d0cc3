"""The single place where Consentry decides whether a request may read an object.

htsget tickets, DRS objects and DRS access URLs all build an
`AccessRequest` and call `enforce`; nothing else grants access.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from service.errors import InvalidAuthentication, PermissionDenied

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessRequest:
    """What is asked for, and the caller's credentials.

    `endpoint` names the operation (`htsget/reads`, `htsget/variants`,
    `drs/object`, `drs/access`). `credentials` holds the raw bearer token
    and any passports from a DRS POST body; it is never logged.
    """

    request_id: str
    endpoint: str
    object_id: str
    regions: tuple[str, ...] = ()
    credentials: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessDecision:
    """The outcome of one access check.

    `expires_at` (Unix time) is the earliest expiry of the visas the
    decision relied on; signed URLs handed out under it must not outlive
    it. `decision_id` identifies the logged decision, when one is logged.
    """

    allowed: bool
    reasons: tuple[str, ...]
    expires_at: float | None = None
    decision_id: str | None = None


class AccessPolicy(Protocol):
    """Decide one request; raise InvalidAuthentication for missing or bad credentials."""

    def decide(self, request: AccessRequest) -> AccessDecision: ...


class OpenAccessPolicy:
    """Allow every request; the policy of `auth.mode: open`."""

    def decide(self, request: AccessRequest) -> AccessDecision:
        logger.debug(
            "access allowed request_id=%s endpoint=%s object=%s (open access)",
            request.request_id, request.endpoint, request.object_id,
        )
        return AccessDecision(True, ("open access: no access policy is configured",))


def enforce(policy: AccessPolicy, request: AccessRequest) -> AccessDecision:
    """Return the policy's decision, raising PermissionDenied when it denies."""
    decision = policy.decide(request)
    if not decision.allowed:
        reasons = "; ".join(decision.reasons) or "no reason given"
        raise PermissionDenied(f"access to {request.object_id!r} denied: {reasons}")
    return decision


def bearer_credentials(authorization: str | None) -> tuple[str, ...]:
    """Return the token of an `Authorization: Bearer` header, or nothing without a header."""
    if authorization is None:
        return ()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidAuthentication(
            "the Authorization header must be 'Bearer <token>', with a passport or an access token"
        )
    return (token.strip(),)
