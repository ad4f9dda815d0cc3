"""Ingest uploads files and indexes, hashes them, and registers only complete uploads."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from adapters.errors import StorageUnavailable
from adapters.storage.base import ByteSource
from adapters.storage.local import LocalStorage
from adapters.storage.s3 import S3Storage
from adapters.storage.signing import DataUrlSigner
from consent_chain.duo import InvalidConsentCodes, normalize_codes
from service.drs.registry import DrsRegistry
from service.ingest import ConsentMismatch, IngestError, IngestOptions, ingest_file
from service.ingest_index import IndexBuildError
from tests.support import REPO_ROOT, require_tool, shared_file

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

BAM = "htsnexus_test_NA12878.bam"
VCF = "sample1-bcbio-cancer.vcf.gz"
OPTIONS = IngestOptions("cohort1", ("DUO:0000042",))


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store", DataUrlSigner("http://127.0.0.1:1", b"k" * 32))


@pytest.fixture
def registry(tmp_path: Path) -> DrsRegistry:
    return DrsRegistry.in_state_dir(tmp_path / "state")


def _copy(work_dir: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(shared_file(name), work_dir / name)
    return work_dir / names[0]


def _digest(tool: str, path: Path) -> str:
    return subprocess.run([tool, str(path)], capture_output=True, text=True,
                          check=True).stdout.split()[0]


@pytest.mark.parametrize("name", [BAM, VCF, "htsnexus_test_NA12878.cram", "spec-v4.3.bcf"])
def test_checksums_match_coreutils(
    work_dir: Path, storage: LocalStorage, registry: DrsRegistry, name: str
) -> None:
    source = _copy(work_dir, name)
    record = ingest_file(source, OPTIONS, storage, registry).record
    assert record.sha256 == _digest("sha256sum", source)
    assert record.md5 == _digest("md5sum", source)
    assert registry.get(record.id) == record


def test_stores_file_and_index(work_dir: Path, storage: LocalStorage,
                               registry: DrsRegistry) -> None:
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    record = ingest_file(source, OPTIONS, storage, registry).record
    assert storage.read_all(f"cohort1/{BAM}") == source.read_bytes()
    assert record.index_keys == (f"cohort1/{BAM}.bai",)
    assert storage.read_all(record.index_keys[0]) == shared_file(f"{BAM}.bai").read_bytes()


def test_records_id_prefix_and_consent(work_dir: Path, storage: LocalStorage,
                                       registry: DrsRegistry) -> None:
    source = _copy(work_dir, VCF, f"{VCF}.tbi")
    options = IngestOptions("cohort1", ("DUO:0000006", "DUO:0000019"), "inst-a~")
    record = ingest_file(source, options, storage, registry).record
    assert record.id.startswith("inst-a~")
    assert record.consent == ("DUO:0000006", "DUO:0000019")
    assert record.format == "VCF"


def test_reingest_reuses_object(work_dir: Path, storage: LocalStorage,
                                registry: DrsRegistry) -> None:
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    first = ingest_file(source, OPTIONS, storage, registry)
    stored = storage.head(f"cohort1/{BAM}")
    again = ingest_file(source, OPTIONS, storage, registry)
    assert again.uploaded is False
    assert again.record == first.record
    assert storage.head(f"cohort1/{BAM}").version == stored.version


def test_reingest_restores_missing_copy(work_dir: Path, storage: LocalStorage,
                                        registry: DrsRegistry) -> None:
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    first = ingest_file(source, OPTIONS, storage, registry).record
    storage.path_for(f"cohort1/{BAM}").unlink()
    again = ingest_file(source, OPTIONS, storage, registry)
    assert again.uploaded is True
    assert again.record.id == first.id
    assert storage.read_all(f"cohort1/{BAM}") == source.read_bytes()


def test_reingest_other_consent_is_rejected(work_dir: Path, storage: LocalStorage,
                                            registry: DrsRegistry) -> None:
    source = _copy(work_dir, "README.md")
    first = ingest_file(source, OPTIONS, storage, registry).record
    other = IngestOptions("cohort1", ("DUO:0000006",))

    with pytest.raises(ConsentMismatch) as raised:
        ingest_file(source, other, storage, registry)

    assert "GRU (DUO:0000042)" in str(raised.value)
    assert "HMB (DUO:0000006)" in str(raised.value)
    assert first.id in str(raised.value)
    assert registry.get(first.id) == first


def test_reingest_replaces_consent_when_asked(work_dir: Path, storage: LocalStorage,
                                              registry: DrsRegistry) -> None:
    source = _copy(work_dir, "README.md")
    first = ingest_file(source, OPTIONS, storage, registry).record
    other = IngestOptions("cohort1", ("DUO:0000006",), replace_consent=True)

    again = ingest_file(source, other, storage, registry)

    assert again.uploaded is False
    assert again.replaced_consent == ("DUO:0000042",)
    assert again.record.consent == ("DUO:0000006",)
    assert registry.get(first.id) == again.record


def test_reingest_same_codes_in_other_order(work_dir: Path, storage: LocalStorage,
                                            registry: DrsRegistry) -> None:
    source = _copy(work_dir, "README.md")
    options = IngestOptions("cohort1", ("DUO:0000042", "DUO:0000019"))
    first = ingest_file(source, options, storage, registry).record
    reordered = IngestOptions("cohort1", ("DUO:0000019", "DUO:0000042"))

    again = ingest_file(source, reordered, storage, registry)

    assert again.replaced_consent is None
    assert again.record == first


def test_restored_copy_keeps_consent_check(work_dir: Path, storage: LocalStorage,
                                           registry: DrsRegistry) -> None:
    source = _copy(work_dir, "README.md")
    first = ingest_file(source, OPTIONS, storage, registry).record
    storage.path_for(first.storage_key).unlink()
    other = IngestOptions("cohort1", ("DUO:0000006",))

    with pytest.raises(ConsentMismatch):
        ingest_file(source, other, storage, registry)

    assert registry.get(first.id) == first


def test_changed_file_is_rejected(work_dir: Path, storage: LocalStorage,
                                  registry: DrsRegistry) -> None:
    source = _copy(work_dir, "README.md")
    ingest_file(source, OPTIONS, storage, registry)
    source.write_text("different content\n")
    with pytest.raises(IngestError, match="already has a different file"):
        ingest_file(source, OPTIONS, storage, registry)


def test_builds_missing_bam_index(work_dir: Path, storage: LocalStorage,
                                  registry: DrsRegistry) -> None:
    require_tool("samtools")
    source = _copy(work_dir, BAM)
    record = ingest_file(source, OPTIONS, storage, registry).record
    assert record.index_keys == (f"cohort1/{BAM}.bai",)
    assert storage.read_all(record.index_keys[0])[:4] == b"BAI\x01"
    assert not (work_dir / f"{BAM}.bai").exists()


def test_builds_missing_vcf_index(work_dir: Path, storage: LocalStorage,
                                  registry: DrsRegistry) -> None:
    require_tool("bcftools")
    source = _copy(work_dir, VCF)
    record = ingest_file(source, OPTIONS, storage, registry).record
    assert record.index_keys == (f"cohort1/{VCF}.tbi",)
    assert gzip.decompress(storage.read_all(record.index_keys[0]))[:4] == b"TBI\x01"


def test_missing_tool_names_fix(work_dir: Path, storage: LocalStorage, registry: DrsRegistry,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    source = _copy(work_dir, BAM)
    monkeypatch.setenv("PATH", str(work_dir / "empty-bin"))
    with pytest.raises(IndexBuildError, match="samtools is not installed") as raised:
        ingest_file(source, OPTIONS, storage, registry)
    assert f"{BAM}.bai" in str(raised.value)
    assert registry.find("cohort1", BAM) is None


def test_unindexable_file_is_rejected(work_dir: Path, storage: LocalStorage,
                                      registry: DrsRegistry) -> None:
    require_tool("samtools")
    source = work_dir / "broken.bam"
    source.write_bytes(b"not a BAM file at all\n" * 100)
    with pytest.raises(IndexBuildError, match="could not index"):
        ingest_file(source, OPTIONS, storage, registry)
    assert registry.find("cohort1", "broken.bam") is None


class FailingSource:
    """Return `good` bytes of a file, then fail the way a broken disk or network does."""

    def __init__(self, source: ByteSource, good: int) -> None:
        self.source = source
        self.left = good

    def read(self, size: int = -1, /) -> bytes:
        if self.left <= 0:
            raise OSError(5, "Input/output error")
        data = self.source.read(min(size, self.left) if size >= 0 else self.left)
        self.left -= len(data)
        return data


class BreakingStorage(LocalStorage):
    """Local storage whose uploads break off after 100 kB."""

    def upload(
        self, key: str, source: ByteSource, progress: Callable[[int], None] | None = None
    ) -> None:
        super().upload(key, FailingSource(source, 100_000), progress)


def test_failed_upload_registers_nothing(work_dir: Path, registry: DrsRegistry) -> None:
    storage = BreakingStorage(work_dir / "store", DataUrlSigner("http://127.0.0.1:1", b"k" * 32))
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    with pytest.raises(StorageUnavailable, match="Input/output error"):
        ingest_file(source, OPTIONS, storage, registry)
    assert registry.find("cohort1", BAM) is None
    assert list((work_dir / "store").rglob("*.*")) == []


@pytest.mark.s3
class Terminal(io.StringIO):
    """A text stream that reports itself as a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_off_terminal_prints_one_line(work_dir: Path, storage: LocalStorage,
                                               registry: DrsRegistry) -> None:
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    stream = io.StringIO()

    ingest_file(source, OPTIONS, storage, registry, stream)

    size = source.stat().st_size
    assert stream.getvalue() == f"{BAM}: 100% of {size} bytes\n"


def test_progress_on_terminal_ends_line(work_dir: Path, storage: LocalStorage,
                                        registry: DrsRegistry) -> None:
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    stream = Terminal()

    ingest_file(source, OPTIONS, storage, registry, stream)

    assert stream.getvalue().startswith(f"\r{BAM}:")
    assert stream.getvalue().endswith("% of " + f"{source.stat().st_size} bytes\n")


def test_failed_upload_ends_progress_line(work_dir: Path, registry: DrsRegistry) -> None:
    storage = BreakingStorage(work_dir / "store", DataUrlSigner("http://127.0.0.1:1", b"k" * 32))
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    stream = Terminal()

    with pytest.raises(StorageUnavailable):
        ingest_file(source, OPTIONS, storage, registry, stream)

    assert "\r" in stream.getvalue()
    assert stream.getvalue().endswith("\n")


def test_s3_ingest_matches_checksums(work_dir: Path, registry: DrsRegistry,
                                     s3_client: S3Client, s3_bucket: str) -> None:
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    storage = S3Storage(s3_bucket, "prefix", client=s3_client)
    record = ingest_file(source, OPTIONS, storage, registry).record
    stored = s3_client.get_object(Bucket=s3_bucket, Key=f"prefix/cohort1/{BAM}")["Body"].read()
    assert stored == source.read_bytes()
    assert record.sha256 == _digest("sha256sum", source)


@pytest.mark.s3
def test_s3_failure_registers_nothing(work_dir: Path, registry: DrsRegistry,
                                      s3_client: S3Client) -> None:
    source = _copy(work_dir, BAM, f"{BAM}.bai")
    storage = S3Storage("no-such-bucket-for-ingest", client=s3_client)
    with pytest.raises(StorageUnavailable, match="no-such-bucket-for-ingest"):
        ingest_file(source, OPTIONS, storage, registry)
    assert registry.find("cohort1", BAM) is None


@pytest.mark.parametrize(("codes", "expected"), [
    (["GRU"], ("DUO:0000042",)),
    (["duo:0000006", "NPU", "PUB"], ("DUO:0000006", "DUO:0000045", "DUO:0000019")),
    (["HMB", "HMB"], ("DUO:0000006",)),
    ([], ()),
])
def test_consent_codes_normalize(codes: list[str], expected: tuple[str, ...]) -> None:
    assert normalize_codes(codes) == expected


@pytest.mark.parametrize(("codes", "text"), [
    (["DUO:9999999"], "unknown consent code 'DUO:9999999'"),
    (["GRUX"], "unknown consent code 'GRUX'"),
    (["GRU", "HMB"], "at most one DUO permission"),
])
def test_bad_consent_codes_rejected(codes: list[str], text: str) -> None:
    with pytest.raises(InvalidConsentCodes, match=text):
        normalize_codes(codes)


@pytest.mark.parametrize(("options", "text"), [
    (IngestOptions("../x"), "dataset id '../x' is invalid"),
    (IngestOptions("ok", id_prefix="a/b"), "id prefix 'a/b' is invalid"),
])
def test_bad_options_rejected(work_dir: Path, storage: LocalStorage, registry: DrsRegistry,
                              options: IngestOptions, text: str) -> None:
    from service.ingest import ingest_files

    with pytest.raises(IngestError, match=text):
        ingest_files([_copy(work_dir, "README.md")], options, storage, registry)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})


def test_cli_ingests_and_reports(work_dir: Path) -> None:
    source = _copy(work_dir, VCF, f"{VCF}.tbi")
    config = work_dir / "consentry.yaml"
    config.write_text(yaml.safe_dump({
        "state_dir": str(work_dir / "state"),
        "storage": {"backend": "local", "local_root": str(work_dir / "store")},
    }))
    result = _cli("ingest", str(source), "--dataset", "d1", "--consent", "GRU,PUB",
                  "--config", str(config), cwd=work_dir)
    assert result.returncode == 0, result.stderr
    object_id, key, state = result.stdout.strip().split("\t")
    assert key == f"d1/{VCF}"
    assert state == "uploaded"
    assert "100%" in result.stderr
    assert "\r" not in result.stderr
    record = DrsRegistry.in_state_dir(work_dir / "state").get(object_id)
    assert record is not None
    assert record.consent == ("DUO:0000042", "DUO:0000019")


def test_cli_rejects_unknown_consent(work_dir: Path) -> None:
    source = _copy(work_dir, "README.md")
    result = _cli("ingest", str(source), "--dataset", "d1", "--consent", "NOPE", cwd=work_dir)
    assert result.returncode == 1
    assert "unknown consent code 'NOPE'" in result.stderr


def test_cli_reingest_other_consent(work_dir: Path) -> None:
    source = _copy(work_dir, "README.md")
    config = work_dir / "consentry.yaml"
    config.write_text(yaml.safe_dump({
        "state_dir": str(work_dir / "state"),
        "storage": {"backend": "local", "local_root": str(work_dir / "store")},
    }))
    first = _cli("ingest", str(source), "--dataset", "d1", "--consent", "GRU,PUB",
                 "--config", str(config), cwd=work_dir)
    object_id = first.stdout.split("\t")[0]

    rejected = _cli("ingest", str(source), "--dataset", "d1", "--consent", "HMB",
                    "--config", str(config), cwd=work_dir)
    replaced = _cli("ingest", str(source), "--dataset", "d1", "--consent", "HMB",
                    "--config", str(config), "--replace-consent", cwd=work_dir)

    assert first.returncode == 0, first.stderr
    assert rejected.returncode == 1
    assert "GRU (DUO:0000042), PUB (DUO:0000019)" in rejected.stderr
    assert "HMB (DUO:0000006)" in rejected.stderr
    assert (f"consentry ingest {source} --dataset d1 --consent HMB --config {config} "
            "--replace-consent") in rejected.stderr
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.strip().split("\t") == [object_id, "d1/README.md", "consent replaced"]
    record = DrsRegistry.in_state_dir(work_dir / "state").get(object_id)
    assert record is not None
    assert record.consent == ("DUO:0000006",)
