"""Verify a GA4GH Passport 1.2 JWT and each of its visas, and return the caller's Identity."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from service.auth.acceptance import IndexedVisa, accept_visas
from service.auth.errors import InvalidAuthentication
from service.auth.jwks import JwksCache
from service.auth.jws import (
    TokenError,
    TokenExpired,
    check_registered_claims,
    media_type,
    read_header,
    read_unverified_claims,
    verify_signature,
)
from service.auth.models import (
    STANDARD_VISA_TYPES,
    Identity,
    RejectedVisa,
    printable_id,
    subject_hash,
    token_digest,
    token_id,
)
from service.auth.trust import PassportTrust
from service.auth.visas import verify_visa

logger = logging.getLogger(__name__)

PASSPORT_MEDIA_TYPE = "vnd.ga4gh.passport+jwt"
PASSPORT_CLAIM = "ga4gh_passport_v1"


class PassportVerifier:
    """Check passports against a PassportTrust; the clearinghouse side of GA4GH AAI."""

    def __init__(
        self,
        trust: PassportTrust,
        keys: JwksCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.trust = trust
        self.keys = keys if keys is not None else JwksCache(trust)
        self.clock = clock

    def verify(self, token: str | None) -> Identity:
        """Verify a passport; raise InvalidAuthentication when the passport itself fails.

        Visas that fail are listed in `Identity.rejected` rather than failing the passport,
        because a request needs only the visas its decision uses.
        """
        if not token:
            raise InvalidAuthentication("no passport was sent; send a GA4GH passport JWT")
        now = self.clock()
        claims = self._verify_passport(token, now)
        identity = self.identity_from_visas(
            claims, token_id(claims, token), self._visa_tokens(claims), float(claims["exp"])
        )
        log_identity(identity)
        return identity

    def identity_from_visas(
        self, claims: dict[str, Any], credential_id: str, visas: list[Any], valid_until: float
    ) -> Identity:
        """Verify `visas` for the already verified `claims` of a passport or access token.

        `valid_until` bounds `Identity.earliest_exp` together with the accepted visas.
        """
        if len(visas) > self.trust.max_visas:
            raise InvalidAuthentication(
                f"passport has {len(visas)} visas, more than the limit of {self.trust.max_visas}"
            )
        verified, rejected, ignored = self._verify_visas(visas, self.clock())
        accepted, unmet = accept_visas(verified)
        rejected.extend(unmet)
        return Identity(
            subject=claims["sub"],
            issuer=claims["iss"],
            passport_id=credential_id,
            accepted=tuple(accepted),
            rejected=tuple(sorted(rejected, key=lambda item: item.index)),
            ignored_types=tuple(ignored),
            earliest_exp=min([valid_until] + [visa.exp for visa in accepted]),
        )

    def _verify_passport(self, token: str, now: float) -> dict[str, Any]:
        size = len(token.encode("utf-8"))
        if size > self.trust.max_token_bytes:
            raise InvalidAuthentication(
                f"passport is {size} bytes, more than the limit of {self.trust.max_token_bytes}"
            )
        try:
            return self._check_passport_token(token, now)
        except TokenError as exc:
            logger.info("passport rejected: %s", exc)
            hint = "; get a new passport and retry" if isinstance(exc, TokenExpired) else ""
            raise InvalidAuthentication(f"passport rejected: {exc}{hint}") from None

    def _check_passport_token(self, token: str, now: float) -> dict[str, Any]:
        header = read_header(token)
        if self.trust.require_passport_typ and media_type(header.typ) != PASSPORT_MEDIA_TYPE:
            raise TokenError(f"passport typ {header.typ!r} is not {PASSPORT_MEDIA_TYPE!r}")

        iss = read_unverified_claims(token).get("iss")
        if iss is None:
            raise TokenError("required claim 'iss' is missing")
        broker = self.trust.broker(iss) if isinstance(iss, str) else None
        if broker is None:
            trusted = ", ".join(repr(issuer.iss) for issuer in self.trust.brokers) or "none"
            raise TokenError(
                f"passport issuer {iss!r} is not a trusted broker (trusted: {trusted}); a "
                "passport from another node's embedded broker names that node's URL, so issue "
                "it with the same --config or --port as the node"
            )

        key = self.keys.key_for(broker, header.kid, header.jku, header.alg)
        claims = verify_signature(token, key, header.alg)
        check_registered_claims(claims, now, self.trust.leeway_seconds)
        self._check_audience(claims)
        return claims

    def _check_audience(self, claims: dict[str, Any]) -> None:
        if not self.trust.audiences or "aud" not in claims:
            return
        audience = claims["aud"]
        values = [audience] if isinstance(audience, str) else audience
        if not isinstance(values, list) or not set(self.trust.audiences) & set(values):
            raise TokenError("passport aud does not name this service")

    def _visa_tokens(self, claims: dict[str, Any]) -> list[Any]:
        visas = claims.get(PASSPORT_CLAIM)
        if not isinstance(visas, list):
            raise InvalidAuthentication(
                f"passport claim {PASSPORT_CLAIM!r} is missing or not a list"
            )
        return visas

    def _verify_visas(
        self, tokens: list[Any], now: float
    ) -> tuple[list[IndexedVisa], list[RejectedVisa], list[str]]:
        verified: list[IndexedVisa] = []
        rejected: list[RejectedVisa] = []
        ignored: list[str] = []
        for index, token in enumerate(tokens):
            if not isinstance(token, str):
                rejected.append(RejectedVisa(index, f"index:{index}", None,
                                             "visa is not a JWS string"))
                continue
            try:
                visa = verify_visa(token, self.trust, self.keys, now)
            except TokenError as exc:
                rejected.append(_rejection(index, token, str(exc)))
                continue
            if visa.type in STANDARD_VISA_TYPES:
                verified.append((index, visa))
            else:
                ignored.append(visa.type)
        return verified, rejected, ignored


def _rejection(index: int, token: str, reason: str) -> RejectedVisa:
    """Describe a failed visa by its hash, plus its unverified `jti` and `iss` when printable."""
    try:
        claims = read_unverified_claims(token)
    except TokenError:
        claims = {}
    return RejectedVisa(index, token_digest(token), printable_id(claims.get("iss")), reason,
                        jti=printable_id(claims.get("jti")))


def log_identity(identity: Identity, kind: str = "passport") -> None:
    """Log a verified identity by its token id, issuer and subject hash, never its tokens."""
    logger.info(
        "%s verified jti=%s iss=%s sub_hash=%s accepted=%d rejected=%d ignored=%d",
        kind,
        identity.passport_id,
        identity.issuer,
        subject_hash(identity.subject),
        len(identity.accepted),
        len(identity.rejected),
        len(identity.ignored_types),
    )
    for visa in identity.rejected:
        logger.info(
            "%s jti=%s: visa rejected index=%d visa_jti=%s visa_id=%s visa_iss=%s: %s",
            kind,
            identity.passport_id,
            visa.index,
            visa.jti,
            visa.visa_id,
            visa.iss,
            visa.reason,
        )
