"""Embedded Passport broker: issues ES256-signed visas and passports, and exchanges tokens.

Framework-free: the HTTP layer authenticates the client, parses the form and serves
`jwks()` at `jwks_url`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from service.auth.errors import InvalidAuthentication
from service.auth.keys import BrokerKeyStore
from service.auth.models import VisaType, subject_hash
from service.auth.passport import PASSPORT_MEDIA_TYPE
from service.auth.policy import REGISTERED_ACCESS
from service.auth.trust import TrustedIssuer

logger = logging.getLogger(__name__)

VISA_MEDIA_TYPE = "vnd.ga4gh.visa+jwt"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
PASSPORT_TOKEN_TYPE = "urn:ga4gh:params:oauth:token-type:passport"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
# RFC 9068 media type of JWT access tokens, and the GA4GH passport scope.
ACCESS_TOKEN_MEDIA_TYPE = "at+jwt"
ACCESS_TOKEN_SCOPE = "openid ga4gh_passport_v1"


@dataclass(frozen=True)
class BrokerSubject:
    """Claims the broker asserts about a user when it issues a passport."""

    sub: str
    grants: Sequence[str] = field(default_factory=tuple)
    affiliation: str | None = None
    researcher_status: bool = False


class TokenExchangeError(Exception):
    """An RFC 8693 request failed; `error` is the OAuth 2.0 error code for the response."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class EmbeddedBroker:
    """Issue visas and passports as `issuer`, signed with the key store's active key."""

    def __init__(
        self,
        issuer: str,
        keys: BrokerKeyStore,
        jwks_url: str,
        grant_source: str | None = None,
        max_lifetime: int = 3600,
        clock: Callable[[], float] = time.time,
        exchange_lifetime: int | None = None,
    ) -> None:
        self.issuer = issuer
        self.keys = keys
        self.jwks_url = jwks_url
        self.grant_source = grant_source or issuer
        self.max_lifetime = max_lifetime
        self.exchange_lifetime = min(exchange_lifetime or max_lifetime, max_lifetime)
        self.clock = clock

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Return the public JWKS to serve at `jwks_url`."""
        return self.keys.public_jwks()

    def trusted_issuer(self) -> TrustedIssuer:
        """Return the trust entry for this broker: the local JWKS file, `jwks_url` allowed."""
        return TrustedIssuer(
            iss=self.issuer, jwks_file=self.keys.jwks_path, jku_allowlist=(self.jwks_url,)
        )

    def rotate_keys(self) -> str:
        """Switch to a new signing key; the old one stays published for `max_lifetime`."""
        return self.keys.rotate(retain_seconds=self.max_lifetime).kid

    def issue_visa(
        self,
        sub: str,
        visa_type: str,
        value: str,
        by: str | None,
        expires_in: int,
        source: str | None = None,
        conditions: list[list[dict[str, str]]] | None = None,
    ) -> str:
        """Sign a Visa Document Token (header `jku` = `jwks_url`) for `sub`."""
        now = int(self.clock())
        visa_object: dict[str, Any] = {
            "type": visa_type,
            "asserted": now,
            "value": value,
            "source": source or self.grant_source,
        }
        if by is not None:
            visa_object["by"] = by
        if conditions:
            visa_object["conditions"] = conditions
        claims = {
            "iss": self.issuer,
            "sub": sub,
            "iat": now,
            "exp": now + self._lifetime(expires_in),
            "jti": str(uuid.uuid4()),
            "ga4gh_visa_v1": visa_object,
        }
        return self._sign(claims, VISA_MEDIA_TYPE, jku=self.jwks_url)

    def issue_visas(self, subject: BrokerSubject, expires_in: int) -> list[str]:
        """Sign one visa per dataset grant of `subject`, plus affiliation and status visas."""
        sub = subject.sub
        visas = [
            self.issue_visa(sub, VisaType.CONTROLLED_ACCESS_GRANTS, url, "dac", expires_in)
            for url in subject.grants
        ]
        if subject.affiliation is not None:
            visas.append(self.issue_visa(
                sub, VisaType.AFFILIATION_AND_ROLE, subject.affiliation, "system", expires_in
            ))
        if subject.researcher_status:
            visas.append(self.issue_visa(
                sub, VisaType.RESEARCHER_STATUS, REGISTERED_ACCESS, "system", expires_in
            ))
        return visas

    def issue_passport(
        self,
        sub: str,
        grants: Sequence[str] = (),
        affiliation: str | None = None,
        researcher_status: bool = False,
        expires_in: int = 3600,
        audience: str | None = None,
    ) -> str:
        """Sign a passport carrying one visa per dataset grant, affiliation and status."""
        lifetime = self._lifetime(expires_in)
        subject = BrokerSubject(sub, tuple(grants), affiliation, researcher_status)
        visas = self.issue_visas(subject, lifetime)

        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "ga4gh_passport_v1": visas,
        }
        if audience is not None:
            claims["aud"] = audience
        logger.info(
            "issued passport jti=%s sub_hash=%s visas=%d kid=%s",
            claims["jti"],
            subject_hash(sub),
            len(visas),
            self.keys.active.kid,
        )
        return self._sign(claims, PASSPORT_MEDIA_TYPE)

    def issue_access_token(self, sub: str, expires_in: int) -> str:
        """Sign a passport-scoped OAuth access token (RFC 9068 JWT) with no GA4GH claims.

        Its holder exchanges it for a passport at the token endpoint, or a clearinghouse
        presents it to the userinfo endpoint to read the visas.
        """
        now = int(self.clock())
        claims = {
            "iss": self.issuer,
            "sub": sub,
            "aud": self.issuer,
            "iat": now,
            "exp": now + self._lifetime(expires_in),
            "jti": str(uuid.uuid4()),
            "scope": ACCESS_TOKEN_SCOPE,
        }
        logger.info(
            "issued access token jti=%s sub_hash=%s kid=%s",
            claims["jti"],
            subject_hash(sub),
            self.keys.active.kid,
        )
        return self._sign(claims, ACCESS_TOKEN_MEDIA_TYPE)

    def exchange_token(
        self, form: Mapping[str, str], resolve_subject: Callable[[str], BrokerSubject]
    ) -> dict[str, Any]:
        """Exchange an access token for a passport (RFC 8693); authenticate the client first.

        `resolve_subject` validates the subject access token and raises
        InvalidAuthentication when it is not valid.
        """
        subject_token = _check_exchange_form(form)
        try:
            subject = resolve_subject(subject_token)
        except InvalidAuthentication as exc:
            raise TokenExchangeError(
                "invalid_grant", f"subject_token is not valid: {exc}"
            ) from None
        passport = self.issue_passport(
            subject.sub,
            grants=subject.grants,
            affiliation=subject.affiliation,
            researcher_status=subject.researcher_status,
            expires_in=self.exchange_lifetime,
            audience=form.get("audience") or None,
        )
        return {
            "access_token": passport,
            "issued_token_type": PASSPORT_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": self.exchange_lifetime,
        }

    def _lifetime(self, expires_in: int) -> int:
        if not 0 < expires_in <= self.max_lifetime:
            raise ValueError(
                f"expires_in {expires_in} s is not between 1 and {self.max_lifetime} s, the "
                "broker's maximum token lifetime (auth.broker_max_token_seconds)"
            )
        return expires_in

    def _sign(self, claims: dict[str, Any], typ: str, jku: str | None = None) -> str:
        headers: dict[str, str] = {"typ": typ, "kid": self.keys.active.kid}
        if jku is not None:
            headers["jku"] = jku
        return jwt.encode(claims, self.keys.active.private_key, algorithm="ES256", headers=headers)


def _check_exchange_form(form: Mapping[str, str]) -> str:
    """Check the RFC 8693 parameters for a passport request and return the subject token."""
    if form.get("grant_type") != TOKEN_EXCHANGE_GRANT:
        raise TokenExchangeError(
            "unsupported_grant_type", f"grant_type must be {TOKEN_EXCHANGE_GRANT}"
        )
    if form.get("requested_token_type") != PASSPORT_TOKEN_TYPE:
        raise TokenExchangeError(
            "invalid_request", f"requested_token_type must be {PASSPORT_TOKEN_TYPE}"
        )
    if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise TokenExchangeError(
            "invalid_request", f"subject_token_type must be {ACCESS_TOKEN_TYPE}"
        )
    subject_token = form.get("subject_token")
    if not subject_token:
        raise TokenExchangeError("invalid_request", "subject_token is missing")
    return subject_token
