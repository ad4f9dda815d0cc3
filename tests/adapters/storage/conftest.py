"""Storage backends, each paired with a function that stores test objects in it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from adapters.storage.base import Storage
from adapters.storage.local import LocalStorage
from adapters.storage.s3 import S3Storage
from adapters.storage.signing import DataUrlSigner
from tests.support import shared_file

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

Upload = Callable[[str, Path | bytes], None]
Backend = tuple[Storage, Upload]

DATA_BASE_URL = "http://127.0.0.1:8080/consentry"
S3_PREFIX = "studies/2024"

# Real files of the three kinds the service reads: a BAM, its index and a bgzipped VCF.
CONTRACT_FILES = (
    "htsnexus_test_NA12878.bam",
    "htsnexus_test_NA12878.bam.bai",
    "sample1-bcbio-cancer.vcf.gz",
)


@pytest.fixture
def signer() -> DataUrlSigner:
    """A data URL signer with a fixed 32-byte test key."""
    return DataUrlSigner(DATA_BASE_URL, b"consentry-test-signing-key-32-by")


@pytest.fixture
def local_backend(tmp_path: Path, signer: DataUrlSigner) -> Backend:
    """A LocalStorage over a fresh directory, and a function that writes files into it."""
    root = tmp_path / "objects"
    root.mkdir()

    def upload(key: str, source: Path | bytes) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.read_bytes() if isinstance(source, Path) else source)

    return LocalStorage(root, signer), upload


@pytest.fixture
def s3_backend(
    s3_client: S3Client, s3_bucket: str, s3_upload: Upload
) -> tuple[S3Storage, Upload]:
    """An S3Storage with a key prefix over a fresh moto bucket, and a function that uploads."""
    storage = S3Storage(s3_bucket, prefix=S3_PREFIX, client=s3_client)

    def upload(key: str, source: Path | bytes) -> None:
        s3_upload(storage.object_key(key), source)

    return storage, upload


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage_backend(request: pytest.FixtureRequest) -> Backend:
    """Each storage backend in turn, with its upload function."""
    backend: Backend = request.getfixturevalue(f"{request.param}_backend")
    return backend


@pytest.fixture
def stored_files(storage_backend: Backend) -> dict[str, Path]:
    """Upload the contract files under `data/<name>`; map each key to its source file."""
    _, upload = storage_backend
    files = {f"data/{name}": shared_file(name) for name in CONTRACT_FILES}
    for key, path in files.items():
        upload(key, path)
    return files
