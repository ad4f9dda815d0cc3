"""A small client for etcd's v3 JSON gateway (etcd 3.4, `/v3/` paths) over `http.client`.

The gateway speaks JSON over HTTP/1.1: keys and values are base64, int64
fields are decimal strings, and fields holding a zero value (false, 0, an
empty list) are omitted from responses. Each member endpoint gets a small
pool of keep-alive connections. A call that fails with a connection error, a
timeout or a 5xx status moves on to the next member, and the call raises
StoreUnavailable once its overall deadline has passed. When every member
rejects a certificate in the TLS handshake, the call raises StoreUnavailable
at once, because retrying does not change a certificate.

Endpoints are all `http://` (local and embedded clusters) or all `https://`,
with an `EtcdTls` for the CA bundle and the client certificate.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from adapters.chain.etcd_tls import EtcdTls
from consent_chain.errors import StoreUnavailable

logger = logging.getLogger(__name__)

DEFAULT_REQUEST_TIMEOUT = 1.0
DEFAULT_DEADLINE = 5.0
RETRY_PAUSE_SECONDS = 0.05
POOL_SIZE = 8

Json = dict[str, Any]


def encode_bytes(value: bytes) -> str:
    """Return the base64 text the gateway expects for a key or value."""
    return base64.b64encode(value).decode("ascii")


def decode_bytes(value: str | None) -> bytes:
    """Return the bytes of a base64 key or value from a response (absent means empty)."""
    return base64.b64decode(value) if value else b""


def prefix_end(prefix: bytes) -> bytes:
    """Return the range_end that selects every key starting with `prefix`."""
    for index in range(len(prefix) - 1, -1, -1):
        if prefix[index] < 0xFF:
            return prefix[:index] + bytes([prefix[index] + 1])
    return b"\x00"


def int_field(message: Json, name: str) -> int:
    """Return an int64 field of a response, which the gateway sends as a string or omits as 0."""
    return int(message.get(name, 0))


class _Endpoint:
    """One member's address and its idle keep-alive connections."""

    def __init__(self, url: str, context: ssl.SSLContext | None) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or ""
        self.port = parts.port or 2379
        self._context = context
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        """Return a new connection, over TLS when the endpoint is https://."""
        if self._context is None:
            return http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                           context=self._context)

    def take(self, timeout: float) -> http.client.HTTPConnection:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self.connect(timeout)
        else:
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
        return connection

    def give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < POOL_SIZE:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class GatewayError(Exception):
    """A member responded with a 4xx status, so the request itself was rejected."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"etcd rejected the request with HTTP {status}: {message}")
        self.status = status


class EtcdGateway:
    """Calls the v3 JSON gateway of a list of etcd members, failing over between them."""

    def __init__(self, endpoints: Sequence[str], *, tls: EtcdTls | None = None,
                 request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
                 deadline: float = DEFAULT_DEADLINE) -> None:
        scheme = endpoint_scheme(endpoints)
        if scheme == "https" and tls is None:
            raise ValueError(f"https:// etcd endpoints {list(endpoints)} need a CA bundle "
                             "to verify the members' certificates; pass an EtcdTls")
        if scheme == "http" and tls is not None:
            raise ValueError(f"TLS files are given but the etcd endpoints {list(endpoints)} "
                             "use http://; use https:// endpoints")
        context = tls.context() if tls is not None else None
        self._endpoints = [_Endpoint(url, context) for url in endpoints]
        self.request_timeout = request_timeout
        self.deadline = deadline
        self._preferred = 0
        self._closed = False

    @property
    def endpoints(self) -> list[str]:
        """The member URLs, in the order given."""
        return [endpoint.url for endpoint in self._endpoints]

    def call(self, path: str, body: Json) -> Json:
        """POST `body` to `path` (such as /v3/kv/range) and return the decoded response.

        Raises StoreUnavailable when no member responded before the deadline
        or every member rejected a certificate in the TLS handshake, and
        GatewayError when a member rejected the request with a 4xx status.
        """
        payload = json.dumps(body).encode()
        give_up_at = time.monotonic() + self.deadline
        failures: list[str] = []
        while True:
            tls_failures = 0
            for endpoint in self._rotation():
                remaining = give_up_at - time.monotonic()
                if remaining <= 0:
                    raise StoreUnavailable(
                        f"no etcd member responded to {path} within {self.deadline} s "
                        f"({'; '.join(failures[-3:])}); check that a majority of "
                        f"{self.endpoints} is running"
                    )
                try:
                    return self._post(endpoint, path, payload, min(self.request_timeout,
                                                                    remaining))
                except _Retryable as error:
                    failures.append(f"{endpoint.url}: {error}")
                    logger.debug("etcd call %s failed on %s: %s", path, endpoint.url, error)
                    if isinstance(error, _TlsFailure):
                        tls_failures += 1
                    self._preferred = (self._endpoints.index(endpoint) + 1) % len(
                        self._endpoints)
            if tls_failures == len(self._endpoints):
                raise StoreUnavailable(_tls_failure_message(failures[-tls_failures:]))
            time.sleep(min(RETRY_PAUSE_SECONDS, max(give_up_at - time.monotonic(), 0)))

    def _rotation(self) -> list[_Endpoint]:
        if self._closed:
            raise StoreUnavailable("the etcd client is closed; open a new store")
        start = self._preferred
        return self._endpoints[start:] + self._endpoints[:start]

    def _post(self, endpoint: _Endpoint, path: str, payload: bytes, timeout: float) -> Json:
        connection = endpoint.take(timeout)
        try:
            connection.request("POST", path, payload, {"Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise _failure(error) from error
        endpoint.give_back(connection)
        if response.status >= 500:
            raise _Retryable(f"HTTP {response.status} {_error_message(data)}")
        if response.status >= 400:
            raise GatewayError(response.status, _error_message(data))
        decoded: Json = json.loads(data)
        return decoded

    def watch(self, key: bytes, range_end: bytes, start_revision: int) -> WatchStream:
        """Open a watch stream on [key, range_end) from `start_revision` on the first member up."""
        body = json.dumps({"create_request": {
            "key": encode_bytes(key), "range_end": encode_bytes(range_end),
            "start_revision": str(start_revision),
        }}).encode()
        failures = []
        for endpoint in self._rotation():
            connection = endpoint.connect(self.request_timeout)
            try:
                connection.request("POST", "/v3/watch", body,
                                   {"Content-Type": "application/json"})
                # getresponse() may drop connection.sock, so keep it for close().
                sock = connection.sock
                response = connection.getresponse()
                if response.status != 200:
                    raise _Retryable(f"HTTP {response.status} {_error_message(response.read())}")
                return WatchStream(connection, response, sock, endpoint.url)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                failures.append(f"{endpoint.url}: {_failure(error)}")
            except _Retryable as error:
                connection.close()
                failures.append(f"{endpoint.url}: {error}")
        raise StoreUnavailable(f"no etcd member accepted a watch ({'; '.join(failures)}); "
                               "check that the members are running and, for https:// "
                               "endpoints, the CA bundle and client certificate")

    def close(self) -> None:
        """Close every idle connection; later calls raise StoreUnavailable."""
        self._closed = True
        for endpoint in self._endpoints:
            endpoint.close()


class WatchStream:
    """An open `/v3/watch` response: one JSON message a line until closed."""

    def __init__(self, connection: http.client.HTTPConnection,
                 response: http.client.HTTPResponse, sock: socket.socket | None,
                 endpoint: str) -> None:
        self._connection = connection
        self._response = response
        self._sock = sock
        self.endpoint = endpoint

    def messages(self, idle_timeout: float) -> Iterator[Json]:
        """Yield each watch message; stop when the stream ends or is idle for `idle_timeout` s."""
        if self._sock is not None:
            self._sock.settimeout(idle_timeout)
        while True:
            try:
                line = self._response.readline()
                message: Json | None = json.loads(line) if line else None
            except (OSError, http.client.HTTPException, ValueError, AttributeError):
                # http.client raises AttributeError when close() released the
                # response while this thread was reading it; the stream is over.
                return
            if message is None:
                return
            yield message

    def close(self) -> None:
        """Close the stream; a thread blocked in `messages` returns soon after."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
        self._response.close()
        self._connection.close()


class _Retryable(Exception):
    """A failure after which another member may still succeed."""


class _TlsFailure(_Retryable):
    """A TLS handshake that failed on a certificate, ours or the member's."""


def endpoint_scheme(endpoints: Sequence[str]) -> str:
    """Return "http" or "https", the scheme every endpoint shares; raise ValueError otherwise."""
    if not endpoints:
        raise ValueError("at least one etcd endpoint is needed, such as "
                         "http://127.0.0.1:2379")
    for url in endpoints:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"etcd endpoint {url!r} must look like http://host:port or "
                             "https://host:port")
    schemes = sorted({urlsplit(url).scheme for url in endpoints})
    if len(schemes) > 1:
        raise ValueError(f"etcd endpoints {list(endpoints)} mix http:// and https://; "
                         "use https:// for every member of a TLS cluster")
    return schemes[0]


# OpenSSL reason names of the TLS alerts a server sends when it rejects the
# client's certificate (RFC 8446 section 6.2). Other alerts, such as
# internal_error, may pass, so they are retried like any connection error.
CERTIFICATE_ALERTS = (
    "ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_REQUIRED", "ALERT_CERTIFICATE_UNKNOWN",
    "ALERT_UNKNOWN_CA", "ALERT_UNSUPPORTED_CERTIFICATE", "ALERT_CERTIFICATE_EXPIRED",
    "ALERT_CERTIFICATE_REVOKED", "ALERT_ACCESS_DENIED",
)


def _failure(error: OSError | http.client.HTTPException) -> _Retryable:
    """Wrap a connection error as retryable, or as a TLS failure when a certificate was rejected.

    A member that rejects the client certificate sends a TLS alert, which
    OpenSSL reports as an SSLError whose reason names the alert. etcd 3.4.23
    sends SSLV3_ALERT_BAD_CERTIFICATE both for a missing certificate and for
    one its trusted CA did not sign.
    """
    if isinstance(error, ssl.SSLCertVerificationError):
        return _TlsFailure(f"the member's certificate failed verification: "
                           f"{error.verify_message}")
    reason = (error.reason or "") if isinstance(error, ssl.SSLError) else ""
    if any(alert in reason for alert in CERTIFICATE_ALERTS):
        return _TlsFailure(f"the member rejected the TLS handshake ({reason}), "
                           "so it did not accept this client's certificate")
    return _Retryable(str(error) or type(error).__name__)


def _tls_failure_message(failures: list[str]) -> str:
    return (f"TLS handshake failed with every etcd member ({'; '.join(failures)}); check "
            "that the CA bundle signed the members' certificates, that those name the "
            "endpoint hosts, and that the members' --trusted-ca-file signed the client "
            "certificate")


def _error_message(data: bytes) -> str:
    try:
        decoded = json.loads(data)
    except ValueError:
        return data[:200].decode("utf-8", "replace")
    if isinstance(decoded, dict):
        return str(decoded.get("error") or decoded.get("message") or decoded)
    return str(decoded)
