"""Passport-mode nodes for the HTTP tests: independent issuers on 127.0.0.1 plus the
node's embedded broker. tests/service/conftest.py imports these fixtures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from service.config import load_settings
from tests.service.auth.conftest import (
    BROKER_ISS,
    DATASET,
    SECOND_DAC,
    SECOND_ISS,
    VISA_ISS,
    JwksServer,
    Keys,
    Minter,
    generate_keys,
    running_jwks_server,
)
from tests.service.auth.forge import jwks
from tests.support import free_port

if TYPE_CHECKING:
    from tests.service.conftest import Node

# Objects of the served test files whose ids start with this prefix belong to DATASET.
GRANTED_PREFIX = "htsnexus_test_"
SPEC_DATASET_PATH = "/datasets/spec"


@pytest.fixture(scope="session")
def issuer_keys() -> Keys:
    """Keys of the independent broker and visa issuers, generated once per session."""
    return generate_keys()


@pytest.fixture(scope="session")
def issuer_server(issuer_keys: Keys) -> Iterator[JwksServer]:
    """JWKS and userinfo of the independent issuers, for the whole session."""
    with running_jwks_server(issuer_keys) as server:
        yield server


@pytest.fixture
def issuer_minter(issuer_keys: Keys, issuer_server: JwksServer) -> Minter:
    """Mint tokens of the independent issuers that `passport_node` trusts."""
    return Minter(issuer_keys, issuer_server, int(time.time()))


@pytest.fixture(scope="session")
def passport_node(
    served_copies: Path,
    issuer_keys: Keys,
    issuer_server: JwksServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Node]:
    """A passport-mode node over local storage that trusts the independent issuers."""
    from tests.service.conftest import start_node

    trust = {
        "brokers": [{"iss": BROKER_ISS, "jku_allowlist": [issuer_server.url("/broker-jwks")]}],
        "visa_issuers": [
            {"iss": VISA_ISS, "jku_allowlist": [issuer_server.url("/visa-jwks")]},
            {"iss": SECOND_ISS, "jwks": jwks(issuer_keys.second),
             "allowed_sources": [SECOND_DAC]},
        ],
    }
    auth = {
        "trust": trust,
        "userinfo_urls": {BROKER_ISS: issuer_server.url("/userinfo")},
        "datasets": [
            {"id_prefix": GRANTED_PREFIX, "url": DATASET},
            {"id_prefix": "spec-v4.3", "url": "{base_url}" + SPEC_DATASET_PATH},
        ],
    }
    settings = load_settings(
        None, port=free_port(), state_dir=tmp_path_factory.mktemp("passport-state"),
        storage={"backend": "local", "local_root": served_copies}, auth=auth,
    )
    yield from start_node(settings, "local")


def node_config_file(node: Node, directory: Path) -> Path:
    """Write the settings the CLI needs to act as `node`'s broker: port, state directory and
    datasets."""
    datasets = [dataset.model_dump() for dataset in node.settings.auth.datasets]
    settings = {"port": node.settings.port, "state_dir": str(node.settings.state_dir),
                "auth": {"datasets": datasets}}
    path = directory / "consentry.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path
