"""Trust configuration: which brokers and visa issuers Consentry accepts, and their keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_MAX_TOKEN_BYTES = 64 * 1024
DEFAULT_MAX_VISAS = 200


class TrustedIssuer(BaseModel):
    """One trusted token issuer and where its signing keys come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1)
    jwks: dict[str, Any] | None = Field(
        default=None, description="JWKS pinned inline, as a JSON object with a `keys` list"
    )
    jwks_file: Path | None = Field(
        default=None, description="JWKS pinned in a local file; reread when the file changes"
    )
    jku_allowlist: tuple[str, ...] = Field(
        default=(), description="JWKS URLs that may be fetched for this issuer"
    )
    fetch_jku: bool = Field(
        default=True,
        description="fetch keys from allow-listed jku URLs; false: a token may name an "
        "allow-listed jku, but its key must be pinned in jwks or jwks_file",
    )
    allowed_sources: tuple[str, ...] = Field(
        default=(), description="visa `source` values accepted from this issuer; empty: any"
    )

    @model_validator(mode="after")
    def _check_key_sources(self) -> TrustedIssuer:
        fetchable = bool(self.jku_allowlist) and self.fetch_jku
        if self.jwks is None and self.jwks_file is None and not fetchable:
            raise ValueError(
                f"trusted issuer {self.iss!r} has no keys: set jwks, jwks_file or jku_allowlist"
            )
        if self.jwks is not None and not isinstance(self.jwks.get("keys"), list):
            raise ValueError(f"jwks of trusted issuer {self.iss!r} needs a `keys` list")
        for url in self.jku_allowlist:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise ValueError(
                    f"jku {url!r} of trusted issuer {self.iss!r} is not an http(s) URL"
                )
        return self

    def read_jwks_file(self) -> list[dict[str, Any]]:
        """Read the keys of the pinned JWKS file, or return no keys when none is set."""
        if self.jwks_file is None:
            return []
        document = json.loads(self.jwks_file.read_text(encoding="utf-8"))
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise ValueError(f"JWKS file {self.jwks_file} has no `keys` list")
        return [key for key in keys if isinstance(key, dict)]


class PassportTrust(BaseModel):
    """Clearinghouse settings: trusted brokers and visa issuers, clock leeway and size limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    brokers: tuple[TrustedIssuer, ...] = Field(
        default=(), description="passport issuers (brokers) whose passports are accepted"
    )
    visa_issuers: tuple[TrustedIssuer, ...] = Field(
        default=(), description="visa issuers whose visas are accepted"
    )
    leeway_seconds: int = Field(default=60, ge=0, le=600)
    max_token_bytes: int = Field(default=DEFAULT_MAX_TOKEN_BYTES, gt=0)
    max_visas: int = Field(default=DEFAULT_MAX_VISAS, ge=0)
    require_passport_typ: bool = Field(
        default=True,
        description="reject passports whose header `typ` is not vnd.ga4gh.passport+jwt",
    )
    audiences: tuple[str, ...] = Field(
        default=(),
        description="accepted passport `aud` values; empty: `aud` is not checked",
    )
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwks_min_refresh_seconds: float = Field(
        default=30.0, ge=0, description="minimum time between two JWKS fetches for one issuer"
    )
    jwks_fetch_timeout_seconds: float = Field(default=5.0, gt=0)

    def broker(self, iss: str) -> TrustedIssuer | None:
        """Return the trusted broker with this `iss`, if any."""
        return next((issuer for issuer in self.brokers if issuer.iss == iss), None)

    def visa_issuer(self, iss: str) -> TrustedIssuer | None:
        """Return the trusted visa issuer with this `iss`, if any."""
        return next((issuer for issuer in self.visa_issuers if issuer.iss == iss), None)
