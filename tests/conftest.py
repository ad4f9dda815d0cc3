"""Fixtures shared by every test suite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from adapters.storage.s3 import build_s3_client
from tests.support import IN_CI, free_port

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


@pytest.fixture(autouse=True, scope="session")
def _htslib_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep htslib from fetching CRAM references from the network."""
    cache = tmp_path_factory.mktemp("ref-cache")
    os.environ["REF_PATH"] = str(cache / "%2s/%2s/%s")
    os.environ["REF_CACHE"] = str(cache / "%2s/%2s/%s")


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """A writable directory for copies of shared test files."""
    return tmp_path


MOTO_START_TIMEOUT_SECONDS = 20.0


def _wait_for_moto(process: subprocess.Popen[bytes], endpoint: str, log_path: Path) -> None:
    """Poll the moto server until it responds, or fail with its log."""
    deadline = time.monotonic() + MOTO_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text()
            pytest.fail(f"moto server exited with code {process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    process.terminate()
    pytest.fail(f"moto server did not answer within {MOTO_START_TIMEOUT_SECONDS} s:\n"
                f"{log_path.read_text()}")


@pytest.fixture(scope="session")
def fake_aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Set fake AWS credentials and hide AWS config files for the whole session.

    boto3 then never queries instance metadata or a developer's own AWS profile
    for credentials, a region or an endpoint.
    """
    aws_dir = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        patch.setenv("AWS_CONFIG_FILE", str(aws_dir / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_dir / "credentials"))
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield


@pytest.fixture(scope="session")
def moto_s3_server(tmp_path_factory: pytest.TempPathFactory, fake_aws_env: None) -> Iterator[str]:
    """Run moto's standalone S3 server on a free 127.0.0.1 port; yield its endpoint URL."""
    if find_spec("moto") is None:
        message = "moto is not installed (pip install 'moto[server]')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_moto(process, endpoint, log_path)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def s3_client(moto_s3_server: str) -> S3Client:
    """A boto3 S3 client for the moto server, built like the one S3Storage uses."""
    return build_s3_client("us-east-1", moto_s3_server, path_style=True)


@pytest.fixture
def s3_bucket(s3_client: S3Client) -> Iterator[str]:
    """A fresh, empty bucket on the moto server, deleted after the test."""
    bucket = f"consentry-test-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=bucket)
    yield bucket
    listing = s3_client.list_objects_v2(Bucket=bucket)
    for entry in listing.get("Contents", []):
        s3_client.delete_object(Bucket=bucket, Key=entry["Key"])
    s3_client.delete_bucket(Bucket=bucket)


@pytest.fixture
def s3_upload(s3_client: S3Client, s3_bucket: str) -> Callable[[str, Path | bytes], None]:
    """Return a function that stores a file or bytes under an object key in `s3_bucket`."""

    def upload(object_key: str, source: Path | bytes) -> None:
        body = source.read_bytes() if isinstance(source, Path) else source
        s3_client.put_object(Bucket=s3_bucket, Key=object_key, Body=body)

    return upload
