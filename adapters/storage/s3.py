"""Objects stored in an S3 bucket, or on an S3-compatible server, read through boto3."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    ReadTimeoutError,
)

from adapters.errors import ObjectNotFound, StorageUnavailable
from adapters.storage.base import ByteSource, ObjectInfo, RangeUrl

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 5.0
MAX_ATTEMPTS = 3

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})
_ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "Forbidden", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch",
     "ExpiredToken", "InvalidToken", "AllAccessDisabled"}
)
_THROTTLED_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "503"}
)


def build_s3_client(
    region: str | None = None,
    endpoint_url: str | None = None,
    path_style: bool = False,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    read_timeout: float = READ_TIMEOUT_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
) -> S3Client:
    """Create an S3 client that signs with SigV4, with timeouts in seconds and standard retries.

    `max_attempts` counts the first request too, so 1 turns retries off.
    """
    config = Config(
        signature_version="s3v4",
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        s3={"addressing_style": "path" if path_style else "auto"},
    )
    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


class S3Storage:
    """Read objects under an optional key prefix in one bucket. Range URLs are presigned GETs."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        path_style: bool = False,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or build_s3_client(region, endpoint_url, path_style)

    def object_key(self, key: str) -> str:
        """Return the S3 object key for a storage key, with the prefix in front."""
        return f"{self.prefix}/{key}" if self.prefix else key

    def head(self, key: str) -> ObjectInfo:
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except (ClientError, BotoCoreError) as exc:
            self._raise_for(exc, "HeadObject", key)
        return ObjectInfo(key, response["ContentLength"], response["ETag"].strip('"'))

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Return bytes `[start, end)` of `key`. An empty range returns b"" without a request."""
        if start < 0:
            raise ValueError(f"byte range start {start} is negative; use an offset of 0 or more")
        if end <= start:
            return b""
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self.object_key(key), Range=f"bytes={start}-{end - 1}"
            )
            return response["Body"].read()
        except ClientError as exc:
            # S3 returns 416 InvalidRange when `start` is at or past the end of the object.
            if _error_code(exc) == "InvalidRange":
                return b""
            self._raise_for(exc, "GetObject", key)
        except BotoCoreError as exc:
            self._raise_for(exc, "GetObject", key)

    def read_all(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
            return response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            self._raise_for(exc, "GetObject", key)

    def range_url(self, key: str, start: int, end: int, expires_in: int) -> RangeUrl:
        if start < 0 or end <= start:
            raise ValueError(f"invalid byte range [{start}, {end}); request at least 1 byte")
        byte_range = f"bytes={start}-{end - 1}"
        # botocore 1.43 adds a Range parameter to the signed headers (a test checks
        # this), so X-Amz-SignedHeaders is "host;range". The URL locks the bucket,
        # the key, the GET method, the byte range and the expiry time. A client must
        # send exactly this Range header, and S3 rejects the URL without it.
        try:
            url = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.object_key(key), "Range": byte_range},
                ExpiresIn=expires_in,
            )
        except BotoCoreError as exc:
            self._raise_for(exc, "presign GetObject", key)
        return RangeUrl(url, {"Range": byte_range})

    def object_url(self, key: str, size: int, expires_in: int) -> str:
        """Return a presigned GET for the whole object; unlike `range_url`, no header is signed."""
        try:
            return self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.object_key(key)},
                ExpiresIn=expires_in,
            )
        except BotoCoreError as exc:
            self._raise_for(exc, "presign GetObject", key)

    def upload(
        self, key: str, source: ByteSource, progress: Callable[[int], None] | None = None
    ) -> None:
        """Upload `source` with boto3's managed transfer (multipart above 8 MiB).

        s3transfer aborts a failed multipart upload, so no partial object remains.
        """
        try:
            # s3transfer only calls read() on a source that is not seekable.
            self.client.upload_fileobj(
                source,  # type: ignore[arg-type]
                self.bucket, self.object_key(key), Callback=progress,
            )
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            # A missing bucket must not read as a missing object here, so every
            # failure is StorageUnavailable.
            message = f"S3 upload of key {key!r} to bucket {self.bucket!r} failed: {exc}"
            logger.warning("%s", message)
            raise StorageUnavailable(message) from exc

    def _raise_for(self, exc: ClientError | BotoCoreError, operation: str, key: str) -> NoReturn:
        """Log a failed S3 call and raise the matching adapter error."""
        where = f"key {key!r} in S3 bucket {self.bucket!r}"
        if isinstance(exc, ClientError) and _error_code(exc) in _NOT_FOUND_CODES:
            logger.debug("S3 %s: no object for %s (%s)", operation, where, _error_code(exc))
            raise ObjectNotFound(key) from exc
        message = f"S3 {operation} for {where} failed: {_describe(exc)}"
        logger.warning("%s", message)
        raise StorageUnavailable(message) from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(exc: ClientError | BotoCoreError) -> str:
    """Describe a botocore error in one sentence, with what to check next."""
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        if code in _ACCESS_DENIED_CODES:
            return f"access denied ({code}); check the credentials and the bucket policy"
        if code in _THROTTLED_CODES:
            return f"request throttled ({code}) after retries; retry later"
        return f"error {code or 'unknown'}; retry later or check the S3 server"
    if isinstance(exc, ReadTimeoutError):
        return f"timed out waiting for the response ({exc}); retry later"
    if isinstance(exc, (HTTPClientError, IncompleteReadError)):
        return f"the connection broke off ({exc}); retry later"
    if isinstance(exc, ConnectTimeoutError):
        return f"timed out connecting ({exc}); check the endpoint URL and the network"
    if isinstance(exc, ConnectionError):
        return f"could not connect ({exc}); check the endpoint URL and the network"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found; set them in the environment or an AWS profile"
    return f"{exc}; check the S3 settings"
