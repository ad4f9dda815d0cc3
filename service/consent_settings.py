"""The `chain` settings section: the consent chain node and its consent policy."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.chain.etcd_gateway import endpoint_scheme
from adapters.chain.etcd_tls import EtcdTls, EtcdTlsError
from consent_chain.node import NodeSettings

MEMBER_ID_PATTERN = r"^[a-z0-9][a-z0-9.-]{0,62}$"


class ChainSettings(BaseModel):
    """Consent chain settings; the node keeps its files in `{state_dir}/chain/`."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    institution_id: str = Field("local-institution", pattern=MEMBER_ID_PATTERN)
    institution_name: str = Field("Local institution", min_length=1, max_length=256)
    max_block_transactions: int = Field(100, ge=1, le=10_000)
    max_block_delay_ms: int = Field(0, ge=0, le=10_000)
    write_timeout_seconds: float = Field(10.0, gt=0, le=300)
    nonprofit_organizations: tuple[str, ...] = ()
    deny_unregistered: bool = False
    register_sample_dataset: bool = True
    store: Literal["sqlite", "etcd"] = "sqlite"
    etcd_endpoints: tuple[str, ...] = ("http://127.0.0.1:2379",)
    etcd_prefix: str = Field("consentry/chain", min_length=1, pattern=r"^[^/](.*[^/])?$")
    etcd_ca_file: Path | None = None
    etcd_cert_file: Path | None = None
    etcd_key_file: Path | None = None
    finality: Literal["proposer", "quorum"] = "proposer"
    genesis_file: Path | None = None

    @model_validator(mode="after")
    def _etcd_tls_files(self) -> ChainSettings:
        if self.store == "etcd":
            check_etcd_tls(self)
        return self


def check_etcd_tls(config: ChainSettings) -> None:
    """Raise ValueError, naming the setting and file, unless the etcd TLS settings fit together.

    https:// endpoints need `etcd_ca_file`. The client certificate and key
    are set together, and their files and the CA file must load. http://
    endpoints take none of the three files.
    """
    try:
        scheme = endpoint_scheme(config.etcd_endpoints)
    except ValueError as error:
        raise ValueError(f"chain.etcd_endpoints: {error}") from None
    if (config.etcd_cert_file is None) != (config.etcd_key_file is None):
        raise ValueError("chain.etcd_cert_file and chain.etcd_key_file must be set together: "
                         "the client certificate for mutual TLS and its private key")
    files = [config.etcd_ca_file, config.etcd_cert_file, config.etcd_key_file]
    if scheme == "http":
        if any(path is not None for path in files):
            raise ValueError("chain.etcd_ca_file, chain.etcd_cert_file and chain.etcd_key_file "
                             "apply only to https:// chain.etcd_endpoints; change the endpoints "
                             "to https:// or unset the files")
        return
    if config.etcd_ca_file is None:
        raise ValueError("chain.etcd_ca_file is required with https:// chain.etcd_endpoints: "
                         "set it to the CA bundle that signed the etcd members' certificates")
    try:
        EtcdTls(config.etcd_ca_file, config.etcd_cert_file, config.etcd_key_file).context()
    except EtcdTlsError as error:
        raise ValueError(f"chain.etcd_{error.field} {error.path}: {error.detail}") from None


def node_settings(config: ChainSettings, directory: Path) -> NodeSettings:
    """Return the chain node's settings, keeping its files in `directory`."""
    return NodeSettings(
        directory=directory,
        institution_id=config.institution_id,
        institution_name=config.institution_name,
        max_block_transactions=config.max_block_transactions,
        max_block_delay_ms=config.max_block_delay_ms,
        genesis_file=config.genesis_file,
        store=config.store,
        etcd_endpoints=config.etcd_endpoints,
        etcd_prefix=config.etcd_prefix,
        etcd_ca_file=config.etcd_ca_file,
        etcd_cert_file=config.etcd_cert_file,
        etcd_key_file=config.etcd_key_file,
        finality=config.finality,
    )
