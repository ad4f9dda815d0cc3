"""The `auth` settings section: access mode, trusted issuers, the embedded broker, datasets."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.auth.trust import PassportTrust

BASE_URL_PLACEHOLDER = "{base_url}"
MAX_DATASET_URL_LENGTH = 255
WEEK_SECONDS = 7 * 24 * 3600


class DatasetPrefix(BaseModel):
    """Objects whose id starts with `id_prefix` belong to the dataset named by `url`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_prefix: str
    url: str = Field(
        min_length=1,
        description="dataset URL that ControlledAccessGrants visas name; "
        "`{base_url}` is replaced by the node's base URL",
    )

    def resolved_url(self, base_url: str) -> str:
        """Return `url` with the node's base URL filled in."""
        return self.url.replace(BASE_URL_PLACEHOLDER, base_url.rstrip("/"))


DEFAULT_DATASETS = (DatasetPrefix(id_prefix="sample/", url="{base_url}/datasets/sample"),)


class AuthSettings(BaseModel):
    """Access settings: open access, or GA4GH passports checked by the clearinghouse."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["passport", "open"] = "passport"
    trust: PassportTrust = PassportTrust()
    embedded_broker: bool = True
    broker_max_token_seconds: int = Field(WEEK_SECONDS, ge=60, le=30 * 24 * 3600)
    broker_exchange_seconds: int = Field(3600, ge=60, le=24 * 3600)
    userinfo_urls: dict[str, str] = {}
    userinfo_timeout_seconds: float = Field(5.0, gt=0, le=60)
    datasets: tuple[DatasetPrefix, ...] = DEFAULT_DATASETS

    @model_validator(mode="after")
    def _check(self) -> AuthSettings:
        if self.mode == "passport" and not self.embedded_broker and not self.trust.brokers:
            raise ValueError(
                "auth.mode is 'passport' but no broker is trusted: add auth.trust.brokers "
                "or set auth.embedded_broker to true"
            )
        if self.broker_exchange_seconds > self.broker_max_token_seconds:
            raise ValueError(
                "auth.broker_exchange_seconds must not exceed auth.broker_max_token_seconds"
            )
        for iss, url in self.userinfo_urls.items():
            if self.trust.broker(iss) is None:
                raise ValueError(
                    f"auth.userinfo_urls names {iss!r}, which is not in auth.trust.brokers"
                )
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise ValueError(f"auth.userinfo_urls.{iss}: {url!r} is not an http(s) URL")
        for dataset in self.datasets:
            _check_dataset_url(dataset.resolved_url("http://node.invalid"))
        return self


def _check_dataset_url(url: str) -> None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"auth.datasets: {url!r} is not an absolute URL")
    if len(url) > MAX_DATASET_URL_LENGTH:
        raise ValueError(
            f"auth.datasets: {url!r} is longer than {MAX_DATASET_URL_LENGTH} characters, "
            "the limit for visa values"
        )
