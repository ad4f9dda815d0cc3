"""The etcd TLS file settings: startup errors, and `consentry chain verify` over mutual TLS."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.chain.local_cluster import LocalCluster
from consent_chain.node import GENESIS_FILE
from service.config import ConfigError, load_settings
from service.consent_cli import chain_verify
from service.consent_settings import node_settings
from tests.adapters.chain.certs import Pki, new_pki
from tests.adapters.chain.cluster import (
    session_tls_cluster,
    stop_session_tls_cluster,
    unique_prefix,
)
from tests.adapters.chain.institutions import two_proposer_genesis

HTTPS_ENDPOINT = "https://127.0.0.1:2379"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates for the settings checks; no etcd member uses them."""
    return new_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def tls_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, Pki]]:
    """The session's 1-member mutual-TLS etcd cluster and its certificates."""
    yield session_tls_cluster(tmp_path_factory)
    stop_session_tls_cluster()


def write_settings(directory: Path, chain: dict[str, Any]) -> Path:
    """Write a settings file with the given `chain` section and return its path."""
    path = directory / "consentry.yaml"
    path.write_text(json.dumps({"state_dir": str(directory / "state"),
                                "chain": {"store": "etcd", **chain}}))
    return path


def settings_error(directory: Path, chain: dict[str, Any]) -> str:
    """Load settings with the given `chain` section and return the ConfigError message."""
    with pytest.raises(ConfigError) as raised:
        load_settings(write_settings(directory, chain))
    return str(raised.value)


def test_https_without_ca_file_rejected(tmp_path: Path) -> None:
    message = settings_error(tmp_path, {"etcd_endpoints": [HTTPS_ENDPOINT]})
    assert "chain.etcd_ca_file is required with https://" in message


def test_cert_without_key_rejected(tmp_path: Path, files: Pki) -> None:
    message = settings_error(tmp_path, {
        "etcd_endpoints": [HTTPS_ENDPOINT], "etcd_ca_file": str(files.ca.cert_file),
        "etcd_cert_file": str(files.client.cert_file),
    })
    assert "chain.etcd_cert_file and chain.etcd_key_file must be set together" in message


@pytest.mark.parametrize("setting", ["etcd_ca_file", "etcd_cert_file", "etcd_key_file"])
def test_missing_tls_file_named(tmp_path: Path, files: Pki, setting: str) -> None:
    chain = {
        "etcd_endpoints": [HTTPS_ENDPOINT], "etcd_ca_file": str(files.ca.cert_file),
        "etcd_cert_file": str(files.client.cert_file),
        "etcd_key_file": str(files.client.key_file),
    }
    missing = tmp_path / "missing.pem"
    chain[setting] = str(missing)
    message = settings_error(tmp_path, chain)
    assert f"chain.{setting} {missing}: No such file or directory" in message


def test_tls_file_not_pem_named(tmp_path: Path, files: Pki) -> None:
    not_pem = tmp_path / "client.pem"
    not_pem.write_text("not a certificate\n")
    message = settings_error(tmp_path, {
        "etcd_endpoints": [HTTPS_ENDPOINT], "etcd_ca_file": str(files.ca.cert_file),
        "etcd_cert_file": str(not_pem), "etcd_key_file": str(files.client.key_file),
    })
    assert f"chain.etcd_cert_file {not_pem}: no valid PEM data" in message


def test_mixed_endpoint_schemes_rejected(tmp_path: Path, files: Pki) -> None:
    message = settings_error(tmp_path, {
        "etcd_endpoints": [HTTPS_ENDPOINT, "http://127.0.0.1:2479"],
        "etcd_ca_file": str(files.ca.cert_file),
    })
    assert "chain.etcd_endpoints" in message
    assert "mix http:// and https://" in message


def test_tls_files_with_http_rejected(tmp_path: Path, files: Pki) -> None:
    message = settings_error(tmp_path, {"etcd_ca_file": str(files.ca.cert_file)})
    assert "apply only to https:// chain.etcd_endpoints" in message


def test_tls_files_reach_node_settings(tmp_path: Path, files: Pki) -> None:
    settings = load_settings(write_settings(tmp_path, {
        "etcd_endpoints": [HTTPS_ENDPOINT], "etcd_ca_file": str(files.ca.cert_file),
        "etcd_cert_file": str(files.client.cert_file),
        "etcd_key_file": str(files.client.key_file),
    }))
    node = node_settings(settings.chain, tmp_path)
    assert node.etcd_ca_file == files.ca.cert_file
    assert node.etcd_cert_file == files.client.cert_file
    assert node.etcd_key_file == files.client.key_file


def test_sqlite_store_ignores_tls_files(tmp_path: Path) -> None:
    path = tmp_path / "consentry.yaml"
    path.write_text(json.dumps({"chain": {"etcd_ca_file": str(tmp_path / "missing.pem")}}))
    assert load_settings(path).chain.store == "sqlite"


def verify_with(directory: Path, cluster: LocalCluster, ca_file: Path, client_cert: Path,
                client_key: Path) -> int:
    """Run `consentry chain verify` on an empty mirror of a new chain in the TLS cluster."""
    config = write_settings(directory, {
        "etcd_endpoints": cluster.endpoints, "etcd_prefix": unique_prefix("tls-cli"),
        "etcd_ca_file": str(ca_file), "etcd_cert_file": str(client_cert),
        "etcd_key_file": str(client_key),
    })
    chain_directory = directory / "state" / "chain"
    chain_directory.mkdir(parents=True)
    (chain_directory / GENESIS_FILE).write_bytes(two_proposer_genesis().encoded)
    return chain_verify(argparse.Namespace(config=config))


def test_chain_verify_over_tls(tmp_path: Path, tls_etcd: tuple[LocalCluster, Pki],
                               capsys: pytest.CaptureFixture[str]) -> None:
    cluster, pki = tls_etcd
    code = verify_with(tmp_path, cluster, pki.ca.cert_file, pki.client.cert_file,
                       pki.client.key_file)
    output = capsys.readouterr()
    assert code == 0, output.err
    assert "etcd head:   empty (no blocks)" in output.out


def test_chain_verify_rejected_client(tmp_path: Path, tls_etcd: tuple[LocalCluster, Pki],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    cluster, pki = tls_etcd
    code = verify_with(tmp_path, cluster, pki.ca.cert_file, pki.other_client.cert_file,
                       pki.other_client.key_file)
    error = capsys.readouterr().err
    assert code == 1
    assert "cannot read the chain in etcd" in error
    assert "did not accept this client's certificate" in error
