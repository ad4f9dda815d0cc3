"""The single place where Consentry decides whether a request may read an object."""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessRequest:
    """What is asked for, by whom; `authorization` is the raw header and is never logged."""

    request_id: str
    endpoint: str
    object_id: str
    regions: tuple[str, ...]
    authorization: str | None


@dataclass(frozen=True)
class AccessDecision:
    """The outcome of one access check."""

    allowed: bool
    reasons: tuple[str, ...]


class OpenAccessPolicy:
    """Allow every request.

    NOTE: objects are served without authorization until the passport
    clearinghouse and consent-chain policy replace this class; every
    handler already calls `decide`, so they plug in here.
    """

    def decide(self, request: AccessRequest) -> AccessDecision:
        logger.debug(
            "access allowed request_id=%s endpoint=%s object=%s (open access)",
            request.request_id, request.endpoint, request.object_id,
        )
        return AccessDecision(True, ("open access: no access policy is configured",))
