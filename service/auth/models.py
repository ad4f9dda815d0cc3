"""Typed results of passport verification: visas and the caller's identity."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class VisaType(StrEnum):
    """GA4GH Passport 1.2 standard visa types."""

    AFFILIATION_AND_ROLE = "AffiliationAndRole"
    ACCEPTED_TERMS_AND_POLICIES = "AcceptedTermsAndPolicies"
    RESEARCHER_STATUS = "ResearcherStatus"
    CONTROLLED_ACCESS_GRANTS = "ControlledAccessGrants"
    LINKED_IDENTITIES = "LinkedIdentities"


STANDARD_VISA_TYPES = frozenset(item.value for item in VisaType)
# Maximum length of a rejected visa's `jti` or `iss` that messages repeat. Visa URL claims
# are at most 255 characters long.
MAX_ID_LENGTH = 255
DIGEST_PREFIX = "sha256:"


@dataclass(frozen=True)
class Visa:
    """A visa whose signature, issuer and claims passed verification."""

    type: str
    value: str
    source: str
    by: str | None
    iss: str
    sub: str
    visa_id: str
    iat: float
    exp: float
    asserted: float
    conditions: tuple[Any, ...] | None = None

    @property
    def identity(self) -> tuple[str, str]:
        """The visa identity, the `{iss, sub}` pair."""
        return (self.iss, self.sub)


@dataclass(frozen=True)
class AcceptedVisa:
    """A visa Consentry accepted; `identity_group` is equal for linked visa identities."""

    type: str
    value: str
    source: str
    by: str | None
    iss: str
    sub: str
    visa_id: str
    exp: float
    asserted: float
    identity_group: int


@dataclass(frozen=True)
class RejectedVisa:
    """A visa Consentry ignored, with the first check that failed.

    `visa_id` is the verified `jti`, the token's `sha256:` digest, or `index:<n>` for an
    entry that is not a token string at all. `jti` and `iss` may
    come from a visa whose signature failed, so they are shown only when they pass
    `printable_id`.
    """

    index: int
    visa_id: str
    iss: str | None
    reason: str
    jti: str | None = None

    def describe(self) -> str:
        """Return `visa jti=<jti> from <iss>: <reason>` for messages and logs."""
        label = f"jti={self.jti}" if self.jti else self.visa_id
        issuer = f"from {self.iss}" if self.iss else "from an unknown issuer"
        return f"visa {label} {issuer}: {self.reason}"


@dataclass(frozen=True)
class Identity:
    """The caller as established by a verified passport."""

    subject: str
    issuer: str
    passport_id: str
    accepted: tuple[AcceptedVisa, ...]
    rejected: tuple[RejectedVisa, ...]
    ignored_types: tuple[str, ...]
    earliest_exp: float

    def visas_of_type(self, visa_type: VisaType) -> tuple[AcceptedVisa, ...]:
        """Return the accepted visas of one standard type."""
        return tuple(visa for visa in self.accepted if visa.type == visa_type)

    @staticmethod
    def are_linked(first: AcceptedVisa, second: AcceptedVisa) -> bool:
        """Return whether two visas belong to the same person, directly or by LinkedIdentities."""
        return first.identity_group == second.identity_group


def token_id(claims: dict[str, Any], token: str) -> str:
    """Return the `jti` claim, or `sha256:<hex>` of the token when it has no usable `jti`."""
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        return jti
    return token_digest(token)


def token_digest(token: str) -> str:
    """Return `sha256:<hex>` of a token, an identifier that reveals nothing of its content."""
    return DIGEST_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def printable_id(value: Any, max_length: int = MAX_ID_LENGTH) -> str | None:
    """Return `value` if it is a short string without spaces or control characters, else None.

    Claims of an unverified token are attacker-controlled, so only such values go into
    error messages and log lines.
    """
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    if not value.isprintable() or any(character.isspace() for character in value):
        return None
    return value


def subject_hash(sub: str) -> str:
    """Return a short hash of a subject for logs, so logs carry no user identifiers."""
    return hashlib.sha256(sub.encode("utf-8")).hexdigest()[:16]
