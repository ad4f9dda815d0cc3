"""The behaviour every storage backend shares, run against local files and S3 (moto)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.errors import ObjectNotFound
from adapters.storage.base import Storage
from adapters.storage.s3 import S3Storage
from adapters.storage.signing import DataUrlSigner, InvalidSignature
from tests.adapters.storage.conftest import (
    CONTRACT_FILES,
    DATA_BASE_URL,
    Backend,
    Upload,
)
from tests.adapters.storage.sigv4 import presigned_get_is_valid
from tests.support import shared_file

S3Backend = tuple[S3Storage, Upload]

BAM_KEY = "data/htsnexus_test_NA12878.bam"
VCF_KEY = "data/sample1-bcbio-cancer.vcf.gz"
CONTRACT_KEYS = [f"data/{name}" for name in CONTRACT_FILES]


def fetch(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET a URL on 127.0.0.1 and return the status and body, also for error statuses."""
    assert urlsplit(url).hostname == "127.0.0.1", f"test traffic must stay local: {url}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_head_size_equals_file_size(
    storage_backend: Backend, stored_files: dict[str, Path], key: str
) -> None:
    storage, _ = storage_backend
    assert storage.head(key).size == stored_files[key].stat().st_size


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_head_returns_key_and_version(
    storage_backend: Backend, stored_files: dict[str, Path], key: str
) -> None:
    storage, _ = storage_backend
    info = storage.head(key)
    assert info.key == key
    assert info.version != ""


def test_head_version_changes_on_overwrite(
    storage_backend: Backend, stored_files: dict[str, Path]
) -> None:
    storage, upload = storage_backend
    before = storage.head(BAM_KEY).version
    upload(BAM_KEY, stored_files[VCF_KEY])
    assert storage.head(BAM_KEY).version != before


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_read_range_returns_exact_bytes(
    storage_backend: Backend, stored_files: dict[str, Path], where: str
) -> None:
    storage, _ = storage_backend
    content = stored_files[BAM_KEY].read_bytes()
    start = {"start": 0, "middle": len(content) // 2, "end": len(content) - 4096}[where]
    assert storage.read_range(BAM_KEY, start, start + 4096) == content[start : start + 4096]


def test_read_range_past_end_is_truncated(
    storage_backend: Backend, stored_files: dict[str, Path]
) -> None:
    storage, _ = storage_backend
    content = stored_files[BAM_KEY].read_bytes()
    start = len(content) - 10
    assert storage.read_range(BAM_KEY, start, len(content) + 500) == content[start:]


@pytest.mark.parametrize("offset", [0, 1, 1000])
def test_read_range_starting_past_end_is_empty(
    storage_backend: Backend, stored_files: dict[str, Path], offset: int
) -> None:
    storage, _ = storage_backend
    size = stored_files[BAM_KEY].stat().st_size
    assert storage.read_range(BAM_KEY, size + offset, size + offset + 100) == b""


def test_read_range_empty_range_is_empty(
    storage_backend: Backend, stored_files: dict[str, Path]
) -> None:
    storage, _ = storage_backend
    assert storage.read_range(BAM_KEY, 500, 500) == b""


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_read_all_equals_file(
    storage_backend: Backend, stored_files: dict[str, Path], key: str
) -> None:
    storage, _ = storage_backend
    assert storage.read_all(key) == stored_files[key].read_bytes()


@pytest.mark.parametrize(
    "read",
    [
        lambda storage, key: storage.head(key),
        lambda storage, key: storage.read_range(key, 0, 10),
        lambda storage, key: storage.read_all(key),
    ],
    ids=["head", "read_range", "read_all"],
)
def test_missing_key_raises_not_found(
    storage_backend: Backend, stored_files: dict[str, Path], read: Callable[[Storage, str], object]
) -> None:
    storage, _ = storage_backend
    with pytest.raises(ObjectNotFound) as caught:
        read(storage, "data/missing.bam")
    assert caught.value.key == "data/missing.bam"


@pytest.mark.parametrize("key", ["../outside.bam", "data/../../outside.bam", "/etc/hostname"])
def test_local_key_outside_root_raises_not_found(
    local_backend: Backend, tmp_path: Path, key: str
) -> None:
    storage, _ = local_backend
    (tmp_path / "outside.bam").write_bytes(b"not for clients")
    with pytest.raises(ObjectNotFound):
        storage.head(key)


def test_local_range_url_points_at_data_endpoint(local_backend: Backend) -> None:
    storage, upload = local_backend
    upload(BAM_KEY, b"x" * 100)
    url = storage.range_url(BAM_KEY, 10, 20, expires_in=60).url
    assert url.startswith(f"{DATA_BASE_URL}/data/{BAM_KEY}?")


def test_local_range_url_sends_inclusive_range(local_backend: Backend) -> None:
    storage, _ = local_backend
    assert storage.range_url(BAM_KEY, 10, 20, expires_in=60).headers == {"Range": "bytes=10-19"}


def _url_query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _signed_query(storage: Storage, start: int, end: int) -> dict[str, str]:
    return _url_query(storage.range_url(BAM_KEY, start, end, expires_in=60).url)


def test_local_range_url_passes_verification(
    local_backend: Backend, signer: DataUrlSigner
) -> None:
    storage, _ = local_backend
    query = _signed_query(storage, 10, 20)
    granted = signer.verify(
        BAM_KEY, int(query["start"]), int(query["end"]), int(query["expires"]), query["signature"]
    )
    assert (granted.key, granted.start, granted.end) == (BAM_KEY, 10, 20)


@pytest.mark.parametrize(
    ("field", "value"), [("key", "data/other.bam"), ("start", "0"), ("end", "4096"),
                         ("expires", "9999999999")],
)
def test_local_range_url_tampered_fails_verification(
    local_backend: Backend, signer: DataUrlSigner, field: str, value: str
) -> None:
    storage, _ = local_backend
    query = {"key": BAM_KEY, **_signed_query(storage, 10, 20)}
    query[field] = value
    with pytest.raises(InvalidSignature):
        signer.verify(query["key"], int(query["start"]), int(query["end"]),
                      int(query["expires"]), query["signature"])


@pytest.mark.s3
@pytest.mark.parametrize(("start", "end"), [(0, 1), (0, 65536), (100_000, 150_000)])
def test_s3_range_url_serves_exact_bytes(
    s3_backend: S3Backend, moto_s3_server: str, start: int, end: int
) -> None:
    storage, upload = s3_backend
    path = shared_file("htsnexus_test_NA12878.bam")
    upload(BAM_KEY, path)
    ranged = storage.range_url(BAM_KEY, start, end, expires_in=60)
    assert ranged.url.startswith(f"{moto_s3_server}/")
    assert fetch(ranged.url, ranged.headers) == (206, path.read_bytes()[start:end])


@pytest.mark.s3
def test_s3_range_url_sends_inclusive_range(s3_backend: S3Backend) -> None:
    storage, _ = s3_backend
    assert storage.range_url(BAM_KEY, 10, 20, expires_in=60).headers == {"Range": "bytes=10-19"}


@pytest.mark.s3
def test_s3_range_url_signs_range_header(s3_backend: S3Backend) -> None:
    storage, _ = s3_backend
    query = _url_query(storage.range_url(BAM_KEY, 10, 20, expires_in=60).url)
    assert query["X-Amz-SignedHeaders"].split(";") == ["host", "range"]


@pytest.mark.s3
def test_s3_range_url_uses_sigv4_with_expiry(s3_backend: S3Backend) -> None:
    storage, _ = s3_backend
    query = _url_query(storage.range_url(BAM_KEY, 10, 20, expires_in=90).url)
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "90"


@pytest.mark.s3
def test_s3_range_url_signature_covers_sent_headers(s3_backend: S3Backend) -> None:
    storage, _ = s3_backend
    ranged = storage.range_url(BAM_KEY, 10, 20, expires_in=60)
    assert presigned_get_is_valid(ranged.url, ranged.headers, os.environ["AWS_SECRET_ACCESS_KEY"])


# moto 5.2 does not check presigned signatures: with the Range header changed
# to bytes=0-99 it serves 206 with those 100 bytes, and without Range it serves
# 200 with the whole object. AWS S3 recomputes the signature over the headers it
# receives, as presigned_get_is_valid does, and rejects both requests with
# 403 SignatureDoesNotMatch.
@pytest.mark.s3
@pytest.mark.parametrize("headers", [{"Range": "bytes=0-99"}, {}], ids=["changed", "removed"])
def test_s3_range_url_rejects_other_range(
    s3_backend: S3Backend, headers: dict[str, str]
) -> None:
    storage, _ = s3_backend
    url = storage.range_url(BAM_KEY, 10, 20, expires_in=60).url
    assert not presigned_get_is_valid(url, headers, os.environ["AWS_SECRET_ACCESS_KEY"])
