"""DRS nodes over the local and the S3 backend, with the shared test files ingested."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from adapters.storage.base import Storage
from service.app import build_storage
from service.config import Settings, load_settings
from service.drs.registry import DrsRecord, DrsRegistry
from service.ingest import IngestOptions, ingest_files
from tests.service.conftest import start_node
from tests.support import free_port, shared_file

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

DATASET = "cohort1"
BAM_NAME = "htsnexus_test_NA12878.bam"
INGESTED = (
    "htsnexus_test_NA12878.bam",
    "htsnexus_test_NA12878.cram",
    "sample1-bcbio-cancer.vcf.gz",
    "spec-v4.3.bcf",
    "README.md",
)
INDEXES = (
    "htsnexus_test_NA12878.bam.bai",
    "htsnexus_test_NA12878.cram.crai",
    "sample1-bcbio-cancer.vcf.gz.tbi",
    "spec-v4.3.bcf.csi",
)
MAX_BULK = 8
CONSENT = ("DUO:0000042", "DUO:0000019")


@dataclass
class DrsNode:
    """A running node with DRS objects: base URL, settings and the records by file name."""

    url: str
    settings: Settings
    backend: str
    records: dict[str, DrsRecord]

    @property
    def drs(self) -> str:
        """The DRS API base URL."""
        return f"{self.url}/ga4gh/drs/v1"


@pytest.fixture(scope="session")
def ingest_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the shared files to ingest, with their indexes beside them."""
    root = tmp_path_factory.mktemp("ingest-sources")
    for name in INGESTED + INDEXES:
        shutil.copy(shared_file(name), root / name)
    return root


def drs_settings(state_dir: Path, storage: dict[str, Any], **extra: Any) -> Settings:
    """Return open-access settings for a DRS node on a free port of 127.0.0.1."""
    values: dict[str, Any] = {
        "port": free_port(), "state_dir": state_dir, "storage": storage,
        "auth": {"mode": "open"},
        "drs": {"hostname": "a.example.org", "max_bulk_request_length": MAX_BULK},
    }
    values.update(extra)
    return load_settings(None, **values)


def ingest_all(settings: Settings, sources: Path) -> dict[str, DrsRecord]:
    """Ingest every file of INGESTED into the node's storage and registry."""
    storage: Storage = build_storage(settings)[0]
    registry = DrsRegistry.in_state_dir(settings.state_dir)
    results = ingest_files([sources / name for name in INGESTED],
                           IngestOptions(DATASET, CONSENT), storage, registry)
    return {result.record.name: result.record for result in results}


def run_drs_node(settings: Settings, backend: str, sources: Path) -> Iterator[DrsNode]:
    records = ingest_all(settings, sources)
    for node in start_node(settings, backend):
        yield DrsNode(node.url, settings, backend, records)


@pytest.fixture(scope="session")
def drs_local_node(
    ingest_sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DrsNode]:
    """A DRS node on local storage."""
    storage = {"backend": "local", "local_root": tmp_path_factory.mktemp("drs-objects")}
    settings = drs_settings(tmp_path_factory.mktemp("drs-state"), storage)
    yield from run_drs_node(settings, "local", ingest_sources)


@pytest.fixture(scope="session")
def drs_s3_node(
    ingest_sources: Path, s3_client: S3Client, moto_s3_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DrsNode]:
    """A DRS node on a bucket of the moto S3 server."""
    bucket = "consentry-drs-tests"
    s3_client.create_bucket(Bucket=bucket)
    storage = {"backend": "s3", "s3_bucket": bucket, "s3_prefix": "institution-a",
               "s3_endpoint_url": moto_s3_server, "s3_path_style": True}
    settings = drs_settings(tmp_path_factory.mktemp("drs-state"), storage)
    yield from run_drs_node(settings, "s3", ingest_sources)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)], scope="session")
def drs_node(request: pytest.FixtureRequest) -> DrsNode:
    """Each backend's DRS node in turn, so one contract suite covers both."""
    found: DrsNode = request.getfixturevalue(f"drs_{request.param}_node")
    return found
