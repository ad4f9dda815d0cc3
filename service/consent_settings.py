"""The `chain` settings section: the consent chain node and its consent policy."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
    finality: Literal["proposer", "quorum"] = "proposer"
    genesis_file: Path | None = None


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
        finality=config.finality,
    )
