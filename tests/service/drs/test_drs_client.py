"""The ga4gh-drs-client command line (PyPI 0.1.7) downloads an object and validates its checksum.

The client accepts only https URLs, so this node serves TLS with a
self-signed certificate and the client runs with `-s` (no certificate check).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.app import create_app
from tests.service.drs.conftest import BAM_NAME, DrsNode, drs_settings, ingest_all
from tests.support import IN_CI, free_port, shared_file


def _drs_command() -> str:
    path = shutil.which("drs")
    if path is None:
        message = "ga4gh-drs-client is not installed (pip install ga4gh-drs-client)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """Write a one-day certificate for 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_node(ingest_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrsNode]:
    """A local DRS node that serves https on 127.0.0.1."""
    port = free_port()
    storage = {"backend": "local", "local_root": tmp_path_factory.mktemp("tls-objects")}
    settings = drs_settings(tmp_path_factory.mktemp("tls-state"), storage, port=port,
                            public_url=f"https://127.0.0.1:{port}")
    records = ingest_all(settings, ingest_sources)
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off",
                            ssl_certfile=str(cert), ssl_keyfile=str(key))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the TLS node stopped while starting"
        assert time.monotonic() < deadline, "the TLS node did not start within 10 s"
        time.sleep(0.02)
    yield DrsNode(settings.base_url, settings, "local", records)
    server.should_exit = True
    thread.join(timeout=10)


def _drs_get(node: DrsNode, name: str, directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_drs_command(), "get", "-d", "-v", "-s", "-o", str(directory),
         "-m", str(directory / "object.json"), node.url, node.records[name].id],
        capture_output=True, text=True, timeout=120, cwd=directory,
    )


def test_drs_client_downloads_object(tls_node: DrsNode, tmp_path: Path) -> None:
    result = _drs_get(tls_node, "README.md", tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    downloaded = tmp_path / tls_node.records["README.md"].id / "README.md"
    assert downloaded.read_bytes() == shared_file("README.md").read_bytes()
    report = (tmp_path / "drs_download_report.txt").read_text().splitlines()[-1].split("\t")
    assert report[3:6] == ["COMPLETED", "PASSED", "md5"]


# ga4gh-drs-client 0.1.7 reads access_method["access_id"] unconditionally, but
# DRS lets a method carry only an access_url, as the htsget method does.
@pytest.mark.xfail(reason="ga4gh-drs-client 0.1.7 fails on access methods without access_id",
                   strict=True)
def test_drs_client_downloads_bam(tls_node: DrsNode, tmp_path: Path) -> None:
    result = _drs_get(tls_node, BAM_NAME, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
