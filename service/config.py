"""Consentry's settings: defaults, then a YAML file, then `CONSENTRY_*` environment variables.

Nested keys use `__` in environment variables, so `storage.backend` is
`CONSENTRY_STORAGE__BACKEND`. Every key is listed in the README's settings
table; keep the two in step.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from service.auth.settings import AuthSettings
from service.config_sources import (
    ENVIRONMENT_PREFIX,
    SettingsSources,
    check_variable_names,
    read_settings_file,
)
from service.config_sources import ConfigError as ConfigError
from service.consent_settings import ChainSettings


class StorageSettings(BaseModel):
    """Storage backend settings."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "s3"] = "local"
    local_root: Path = Path("consentry-data")
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_path_style: bool = False

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> StorageSettings:
        if self.backend == "s3" and not self.s3_bucket:
            raise ValueError("storage.s3_bucket is required when storage.backend is 's3'")
        return self


class HtsgetSettings(BaseModel):
    """Limits and lifetimes of the htsget endpoint."""

    model_config = ConfigDict(extra="forbid")

    url_ttl_seconds: int = Field(900, ge=10, le=604800)
    max_body_bytes: int = Field(65536, ge=1024)
    max_regions: int = Field(1000, ge=1)
    max_block_bytes: int = Field(1 << 30, ge=1 << 20)
    index_cache_entries: int = Field(256, ge=1)


class DrsSettings(BaseModel):
    """The DRS endpoint, its object URIs and the DRS servers of other institutions."""

    model_config = ConfigDict(extra="forbid")

    hostname: str | None = None
    max_bulk_request_length: int = Field(1000, ge=1)
    peers: dict[str, str] = {}
    compact_prefixes: dict[str, str] = {}

    @model_validator(mode="after")
    def _check_urls(self) -> DrsSettings:
        for host, url in self.peers.items():
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"drs.peers.{host}: {url!r} must start with http:// or https://")
        for prefix, pattern in self.compact_prefixes.items():
            if "{id}" not in pattern:
                raise ValueError(
                    f"drs.compact_prefixes.{prefix}: {pattern!r} must contain "
                    "the placeholder {id}"
                )
        return self


class Settings(BaseSettings):
    """All settings of one Consentry node."""

    model_config = SettingsConfigDict(
        env_prefix="CONSENTRY_", env_nested_delimiter="__", extra="forbid"
    )
    # Values read from the settings file; `load_settings` sets them on a subclass.
    file_values: ClassVar[dict[str, Any]] = {}

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = None
    state_dir: Path = Path(".consentry")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    workers: int = Field(1, ge=1, le=64)
    cors_allow_origins: list[str] = ["*"]
    storage: StorageSettings = StorageSettings()
    htsget: HtsgetSettings = HtsgetSettings()
    drs: DrsSettings = DrsSettings()
    chain: ChainSettings = ChainSettings()
    auth: AuthSettings = AuthSettings()

    @property
    def base_url(self) -> str:
        """The URL clients reach this node at, used in tickets and data URLs."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, InitSettingsSource(settings_cls, cls.file_values))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from defaults, `config_file`, the environment and `overrides`.

    `overrides` (command-line options) win over everything else. Each key is named
    after its option in error messages: `port` is `--port`.
    """
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"settings file {config_file} does not exist")
    values_from_file = read_settings_file(config_file) if config_file is not None else {}
    check_variable_names(os.environ, Settings.model_fields.keys())

    class FileSettings(Settings):
        file_values: ClassVar[dict[str, Any]] = values_from_file

    try:
        return FileSettings(**overrides)
    except SettingsError as exc:
        raise ConfigError(_environment_parse_problem(exc)) from None
    except ValidationError as exc:
        sources = SettingsSources(overrides, os.environ, config_file, values_from_file)
        raise ConfigError(sources.describe(exc)) from exc


def _environment_parse_problem(error: SettingsError) -> str:
    """Name the environment variables behind a value pydantic-settings could not parse."""
    field = re.search(r'field "(\w+)"', str(error))
    prefix = ENVIRONMENT_PREFIX + (field.group(1).upper() if field else "")
    names = sorted(
        name for name in os.environ
        if name.upper() == prefix or name.upper().startswith(prefix + "__")
    )
    variables = ", ".join(names) or f"{ENVIRONMENT_PREFIX}* variables"
    return (
        f"invalid settings in the environment: cannot parse {variables}; "
        "lists and mappings must be written as JSON"
    )
