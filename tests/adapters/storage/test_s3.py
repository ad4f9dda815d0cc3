"""S3-only behaviour: key prefixes, client settings and the mapping of S3 failures."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.stub import Stubber

from adapters.errors import ObjectNotFound, StorageUnavailable
from adapters.storage.s3 import S3Storage, build_s3_client
from tests.adapters.storage.conftest import S3_PREFIX, Upload
from tests.support import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

pytestmark = [pytest.mark.s3, pytest.mark.usefixtures("fake_aws_env")]

KEY = "data/reads.bam"


@pytest.fixture
def stubbed_storage() -> Iterator[tuple[S3Storage, Stubber]]:
    """An S3Storage whose client returns canned responses instead of calling moto."""
    client = build_s3_client("us-east-1", "http://127.0.0.1:9", path_style=True)
    with Stubber(client) as stubber:
        yield S3Storage("stub-bucket", client=client), stubber


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An endpoint on 127.0.0.1 that accepts connections and never responds."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_object_key_puts_prefix_in_front() -> None:
    storage = S3Storage("bucket", prefix="/studies/2024/", client=build_s3_client("us-east-1"))
    assert storage.object_key(KEY) == f"studies/2024/{KEY}"


def test_object_key_without_prefix_is_key() -> None:
    storage = S3Storage("bucket", client=build_s3_client("us-east-1"))
    assert storage.object_key(KEY) == KEY


def test_head_ignores_objects_outside_prefix(
    s3_backend: tuple[S3Storage, Upload], s3_upload: Upload
) -> None:
    storage, _ = s3_backend
    s3_upload(KEY, b"stored without the prefix")
    with pytest.raises(ObjectNotFound):
        storage.head(KEY)


def test_head_reads_object_under_prefix(
    s3_backend: tuple[S3Storage, Upload], s3_upload: Upload
) -> None:
    storage, _ = s3_backend
    s3_upload(f"{S3_PREFIX}/{KEY}", b"12345")
    assert storage.head(KEY).size == 5


def test_head_version_is_etag_without_quotes(
    s3_backend: tuple[S3Storage, Upload], s3_client: S3Client, s3_bucket: str
) -> None:
    storage, upload = s3_backend
    upload(KEY, b"12345")
    etag = s3_client.head_object(Bucket=s3_bucket, Key=storage.object_key(KEY))["ETag"]
    assert storage.head(KEY).version == etag.strip('"')


def test_missing_bucket_raises_not_found(s3_client: S3Client) -> None:
    storage = S3Storage("consentry-no-such-bucket", client=s3_client)
    with pytest.raises(ObjectNotFound):
        storage.read_all(KEY)


def test_build_client_sets_timeouts_and_retries() -> None:
    config: Any = build_s3_client("us-east-1").meta.config
    assert config.connect_timeout == 3.0
    assert config.read_timeout == 5.0
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert config.signature_version == "s3v4"


def test_build_client_path_style_puts_bucket_in_path() -> None:
    client = build_s3_client("us-east-1", "http://127.0.0.1:9", path_style=True)
    storage = S3Storage("reads", client=client)
    assert storage.range_url(KEY, 0, 10, 60).url.startswith(f"http://127.0.0.1:9/reads/{KEY}?")


def test_unreachable_endpoint_raises_unavailable() -> None:
    client = build_s3_client("us-east-1", f"http://127.0.0.1:{free_port()}", path_style=True,
                             max_attempts=1)
    with pytest.raises(StorageUnavailable, match="could not connect"):
        S3Storage("reads", client=client).head(KEY)


def test_silent_endpoint_raises_timed_out(silent_server: str) -> None:
    client = build_s3_client("us-east-1", silent_server, path_style=True,
                             read_timeout=0.3, max_attempts=1)
    with pytest.raises(StorageUnavailable, match="timed out"):
        S3Storage("reads", client=client).read_range(KEY, 0, 10)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [("AccessDenied", 403, "access denied"), ("403", 403, "access denied"),
     ("SlowDown", 503, "throttled"), ("InternalError", 500, "error InternalError")],
)
def test_client_error_raises_unavailable(
    stubbed_storage: tuple[S3Storage, Stubber], code: str, status: int, expected: str
) -> None:
    storage, stubber = stubbed_storage
    stubber.add_client_error("head_object", service_error_code=code, http_status_code=status)
    with pytest.raises(StorageUnavailable, match=expected):
        storage.head(KEY)


def test_unavailable_message_names_key_and_bucket(
    stubbed_storage: tuple[S3Storage, Stubber],
) -> None:
    storage, stubber = stubbed_storage
    stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    with pytest.raises(StorageUnavailable) as caught:
        storage.read_all(KEY)
    assert f"key {KEY!r} in S3 bucket 'stub-bucket'" in str(caught.value)


def test_failure_is_logged_with_key(
    stubbed_storage: tuple[S3Storage, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    storage, stubber = stubbed_storage
    stubber.add_client_error("head_object", service_error_code="SlowDown", http_status_code=503)
    with caplog.at_level(logging.WARNING, logger="adapters.storage.s3"), \
            pytest.raises(StorageUnavailable):
        storage.head(KEY)
    assert KEY in caplog.text


def test_no_such_key_error_raises_not_found(stubbed_storage: tuple[S3Storage, Stubber]) -> None:
    storage, stubber = stubbed_storage
    stubber.add_client_error("get_object", service_error_code="NoSuchKey", http_status_code=404)
    with pytest.raises(ObjectNotFound):
        storage.read_range(KEY, 0, 10)


def test_read_range_negative_start_raises() -> None:
    storage = S3Storage("reads", client=build_s3_client("us-east-1"))
    with pytest.raises(ValueError, match="negative"):
        storage.read_range(KEY, -1, 10)


@pytest.mark.parametrize(("start", "end"), [(10, 10), (10, 5), (-1, 10)])
def test_range_url_invalid_range_raises(start: int, end: int) -> None:
    storage = S3Storage("reads", client=build_s3_client("us-east-1"))
    with pytest.raises(ValueError, match="invalid byte range"):
        storage.range_url(KEY, start, end, 60)
