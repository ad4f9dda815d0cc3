"""Open the node's consent chain, catalog and audit index from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from consent_chain.audit import AUDIT_FILE, AuditIndex
from consent_chain.catalog import CATALOG_FILE, ConsentCatalog
from consent_chain.consents import build_consent, register_dataset
from consent_chain.errors import ChainError, InvalidTransaction
from consent_chain.node import GENESIS_FILE, ChainNode
from consent_chain.policy import PolicyOptions
from service.config import Settings
from service.consent_settings import node_settings

logger = logging.getLogger(__name__)

SAMPLE_DATASET_ID = "consentry-sample"
SAMPLE_PREFIX = "sample/"


@dataclass
class ConsentServices:
    """The consent chain node with its off-chain catalog and audit index."""

    node: ChainNode
    catalog: ConsentCatalog
    audit: AuditIndex
    options: PolicyOptions
    write_timeout_seconds: float

    def close(self) -> None:
        """Commit pending transactions and close every file."""
        self.node.close()
        self.catalog.close()
        self.audit.close()


def chain_directory(settings: Settings) -> Path:
    """Return the directory of the node's chain files."""
    return settings.state_dir / "chain"


def open_consent_services(settings: Settings) -> ConsentServices:
    """Open (on first start: create) the chain node, catalog and audit index."""
    config = settings.chain
    directory = chain_directory(settings)
    node = ChainNode.open(node_settings(config, directory))
    options = PolicyOptions(
        nonprofit_organizations=frozenset(org.lower() for org in config.nonprofit_organizations),
    )
    return ConsentServices(node, ConsentCatalog(directory / CATALOG_FILE),
                           AuditIndex(directory / AUDIT_FILE), options,
                           config.write_timeout_seconds)


def open_existing_consent_services(settings: Settings) -> ConsentServices:
    """Open the consent services of a node whose chain exists; never create one.

    Commands use this: run from the wrong directory, opening would create a
    new chain apart from the node's own. Raises ChainError naming the
    directory and the fix.
    """
    genesis_path = chain_directory(settings) / GENESIS_FILE
    if not genesis_path.is_file():
        raise ChainError(
            f"no consent chain at {genesis_path.parent} ({genesis_path.name} is missing); run "
            "this command in the directory where `consentry serve` runs, or pass the node's "
            "--config FILE; a new node creates its chain on its first `consentry serve`"
        )
    return open_consent_services(settings)


def sample_dataset_url(settings: Settings) -> str:
    """Return the URL that grants the sample dataset, as the `auth.datasets` entry names it."""
    auth = getattr(settings, "auth", None)
    for dataset in getattr(auth, "datasets", ()):
        if dataset.id_prefix == SAMPLE_PREFIX:
            return str(dataset.resolved_url(settings.base_url))
    return f"{settings.base_url}/datasets/sample"


def ensure_sample_dataset(consent: ConsentServices, settings: Settings) -> bool:
    """Register the generated sample dataset (GRU) once; return whether it was registered now."""
    consent.node.refresh()
    if SAMPLE_DATASET_ID in consent.node.state.datasets:
        return False
    try:
        register_dataset(consent.node, consent.catalog, SAMPLE_DATASET_ID,
                         sample_dataset_url(settings), build_consent("GRU"), [SAMPLE_PREFIX])
    except InvalidTransaction:
        # Another worker process of the same node registered it first.
        consent.node.refresh()
        if SAMPLE_DATASET_ID not in consent.node.state.datasets:
            raise
        return False
    logger.info("registered the sample dataset %s on the consent chain", SAMPLE_DATASET_ID)
    return True
