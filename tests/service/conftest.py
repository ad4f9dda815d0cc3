"""Running Consentry nodes over the local and the S3 backend, serving the shared test files."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from service.app import create_app
from service.config import Settings, load_settings
from tests.service.auth.nodes import (  # noqa: F401 (fixtures of the passport HTTP tests)
    issuer_keys,
    issuer_minter,
    issuer_server,
    passport_node,
)
from tests.support import free_port, require_tool, shared_file

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

SERVED_FILES = (
    "htsnexus_test_NA12878.bam",
    "htsnexus_test_NA12878.bam.bai",
    "htsnexus_test_NA12878.cram",
    "htsnexus_test_NA12878.cram.crai",
    "sample1-bcbio-cancer.vcf.gz",
    "sample1-bcbio-cancer.vcf.gz.tbi",
    "sample1-bcbio-cancer.bcf",
    "sample1-bcbio-cancer.bcf.csi",
    "spec-v4.3.vcf.gz",
    "spec-v4.3.vcf.gz.tbi",
    "spec-v4.3.bcf",
    "spec-v4.3.bcf.csi",
)
S3_PREFIX = "institution-a"


@dataclass
class Node:
    """A running Consentry node: its base URL, settings and the directory of local copies."""

    url: str
    settings: Settings
    backend: str


class ServerThread:
    """Run an ASGI app under uvicorn in a background thread on 127.0.0.1."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start within 10 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_node(settings: Settings, backend: str) -> Iterator[Node]:
    with ServerThread(create_app(settings), settings.port):
        yield Node(settings.base_url, settings, backend)


@pytest.fixture(scope="session")
def served_copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding copies of the shared test files the nodes serve."""
    root = tmp_path_factory.mktemp("objects")
    for name in SERVED_FILES:
        shutil.copy(shared_file(name), root / name)
    _add_broken_objects(root)
    return root


def _add_broken_objects(root: Path) -> None:
    """Store objects the error tests need: no index, a corrupt index, a corrupt BAM."""
    bam = root / "htsnexus_test_NA12878.bam"
    nested = root / "study" / "cohort"
    nested.mkdir(parents=True)
    shutil.copy(bam, nested / "sample.bam")
    shutil.copy(root / "htsnexus_test_NA12878.bam.bai", nested / "sample.bam.bai")
    shutil.copy(bam, root / "no-index.bam")
    shutil.copy(bam, root / "corrupt-index.bam")
    index = bytearray((root / "htsnexus_test_NA12878.bam.bai").read_bytes())
    (root / "corrupt-index.bam.bai").write_bytes(bytes(index[: len(index) // 3]))
    (root / "not-a-bam.bam").write_bytes(b"this is a text file, not BAM\n" * 10)
    (root / "not-a-bam.bam.bai").write_bytes(bytes(index))
    shutil.copy(bam, root / "with-gzi.bam")
    shutil.copy(root / "htsnexus_test_NA12878.bam.bai", root / "with-gzi.bam.bai")
    subprocess.run([require_tool("bgzip"), "-r", str(root / "with-gzi.bam")], check=True,
                   timeout=60)
    _write_rebgzipped_bam(bam, root / "records-span-blocks.bam")


def _write_rebgzipped_bam(source: Path, target: Path) -> None:
    """Write `source` re-compressed by bgzip, which cuts blocks at 64 KiB regardless of records.

    Records then cross block boundaries and the header ends inside a block,
    unlike in files htslib writes, so tickets must re-encode edge blocks.
    """
    bgzip = require_tool("bgzip")
    payload = subprocess.run([bgzip, "-dc", str(source)], check=True, capture_output=True,
                             timeout=60).stdout
    compressed = subprocess.run([bgzip, "-c"], input=payload, check=True, capture_output=True,
                                timeout=60).stdout
    target.write_bytes(compressed)
    subprocess.run([require_tool("samtools"), "index", str(target)], check=True, timeout=60)


@pytest.fixture(scope="session")
def local_node(served_copies: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A node serving `served_copies` from local storage."""
    port = free_port()
    settings = load_settings(
        None, port=port, state_dir=tmp_path_factory.mktemp("state"),
        storage={"backend": "local", "local_root": served_copies}, auth={"mode": "open"},
    )
    yield from start_node(settings, "local")


@pytest.fixture(scope="session")
def s3_node(
    served_copies: Path, s3_client: S3Client, moto_s3_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Node]:
    """A node serving the same files from a bucket on the moto S3 server."""
    bucket = "consentry-htsget-tests"
    s3_client.create_bucket(Bucket=bucket)
    for path in served_copies.rglob("*"):
        if path.is_file():
            key = path.relative_to(served_copies).as_posix()
            s3_client.upload_file(str(path), bucket, f"{S3_PREFIX}/{key}")
    port = free_port()
    settings = load_settings(
        None, port=port, state_dir=tmp_path_factory.mktemp("state"),
        storage={"backend": "s3", "s3_bucket": bucket, "s3_prefix": S3_PREFIX,
                 "s3_endpoint_url": moto_s3_server, "s3_path_style": True},
        auth={"mode": "open"},
    )
    yield from start_node(settings, "s3")


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)], scope="session")
def node(request: pytest.FixtureRequest) -> Node:
    """Each backend's node in turn, so one contract suite covers both."""
    found: Node = request.getfixturevalue(f"{request.param}_node")
    return found
