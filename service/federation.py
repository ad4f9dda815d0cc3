"""`consentry drs get`: fetch an object from any DRS server by its `drs://` URI.

Hostname URIs (`drs://host/id`) go to the server that `drs.peers` names for
the host, else to `https://host/ga4gh/drs/v1`. Compact URIs
(`drs://prefix:accession`) go to the URL pattern in `drs.compact_prefixes`.
The object request is a POST that carries the caller's passport. The bytes
are downloaded into `<output>.part`, which a later run resumes from its
size with an HTTP Range request. The file is renamed to `<output>` only
after the checksum matches. An existing `<output>` with other bytes is
replaced only on request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from service.config import DrsSettings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0
_CHUNK = 1 << 20
_HOSTNAME = re.compile(r"^[A-Za-z0-9.-]+$")
_HOST_WITH_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]+/")
_PREFIX = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)?$")
# hashlib names of the DRS checksum types this client verifies, strongest first.
_HASHES = (("sha-256", "sha256"), ("sha256", "sha256"), ("md5", "md5"))


class FederationError(Exception):
    """A DRS URI is malformed, or resolving or downloading the object failed.

    `status` is the HTTP status of the failed request, or None when no
    server returned one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DrsUri:
    """A parsed `drs://` URI: a hostname or a compact prefix, and the object id."""

    uri: str
    object_id: str
    hostname: str | None = None
    prefix: str | None = None


def parse_drs_uri(uri: str) -> DrsUri:
    """Split a hostname-based or compact DRS URI into its parts."""
    if not uri.startswith("drs://"):
        raise FederationError(
            f"{uri!r} is not a DRS URI; write drs://<hostname>/<id> or drs://<prefix>:<accession>"
        )
    rest = uri[len("drs://"):]
    if _HOST_WITH_PORT.match(rest):
        raise FederationError(
            f"DRS URI {uri!r} is malformed: hostname DRS URIs take no port; write "
            "drs://<hostname>/<id> and map the hostname to a URL with a port in drs.peers"
        )
    # Hostname URIs contain no ':' (no port, and ids are percent-encoded), so one
    # with a ':' is compact: drs://[provider_code/]namespace:accession.
    if ":" in rest:
        prefix, _, accession = rest.partition(":")
        if not _PREFIX.match(prefix) or not accession:
            raise FederationError(
                f"compact DRS URI {uri!r} is malformed; write drs://<prefix>:<accession>"
            )
        return DrsUri(uri, accession, prefix=prefix)
    host, _, object_id = rest.partition("/")
    if not host or not _HOSTNAME.match(host) or not object_id:
        raise FederationError(
            f"DRS URI {uri!r} is malformed; write drs://<hostname>/<id> with a host name "
            "without a port, or drs://<prefix>:<accession>"
        )
    return DrsUri(uri, object_id, hostname=host)


def object_url(parsed: DrsUri, settings: DrsSettings) -> str:
    """Return the URL of the object request for `parsed`."""
    if parsed.prefix is not None:
        pattern = settings.compact_prefixes.get(parsed.prefix)
        if pattern is None:
            # NOTE: compact prefixes are not looked up at identifiers.org or n2t.net.
            raise FederationError(
                f"compact prefix {parsed.prefix!r} of {parsed.uri!r} is unknown; add it to "
                "drs.compact_prefixes with its URL pattern, such as "
                "https://drs.example.org/ga4gh/drs/v1/objects/{id}"
            )
        return pattern.replace("{id}", quote(parsed.object_id, safe=""))
    assert parsed.hostname is not None
    base = settings.peers.get(parsed.hostname, f"https://{parsed.hostname}/ga4gh/drs/v1")
    return f"{base.rstrip('/')}/objects/{quote(parsed.object_id, safe='')}"


def drs_get(
    uri: str, settings: DrsSettings, output: Path | None, passports: tuple[str, ...] = (),
    progress: TextIO | None = None, *, force: bool = False,
) -> Path:
    """Fetch the object named by `uri` into `output` (default: its name) and verify it.

    An existing `output` with the object's checksum is kept as it is. One
    with other bytes raises FederationError, unless `force` allows
    replacing it.
    """
    url = object_url(parse_drs_uri(uri), settings)
    body = {"passports": list(passports)} if passports else {}
    drs_object = _post_json(url, body)
    target = output or Path(_safe_name(drs_object))
    expected = _expected_checksum(drs_object)
    if _contains_object(target, expected, uri, force):
        logger.info("%s already contains %s; nothing downloaded", target, uri)
        return target
    access = _access_url(url, drs_object, body)
    partial = target.with_name(target.name + ".part")
    _download(access, partial, int(drs_object.get("size", -1)), progress)
    _verify(partial, expected, uri)
    _move_into_place(partial, target, uri, force)
    logger.info("fetched %s into %s", uri, target)
    return target


def _move_into_place(partial: Path, target: Path, uri: str, force: bool) -> None:
    """Rename the verified download to `target`; without `force`, never over another file.

    A hard link fails if `target` exists, even one created while the
    download ran, so nobody's file is replaced between check and rename.
    """
    if force:
        os.replace(partial, target)
        return
    try:
        os.link(partial, target)
    except FileExistsError:
        raise FederationError(
            f"{target} appeared while {uri} was downloading; the verified download is kept "
            f"in {partial}. Pass --force to replace {target}, or choose another path with -o"
        ) from None
    partial.unlink()


def _post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            found: dict[str, Any] = json.loads(response.read())
            return found
    except urllib.error.HTTPError as exc:
        hint = ""
        if exc.code == 401 and not body.get("passports"):
            hint = "; pass a passport with --passport FILE"
        message = f"POST {url} failed with status {exc.code}: {_message(exc)}{hint}"
        raise FederationError(message, exc.code) from exc
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
        raise FederationError(f"POST {url} failed: {exc}; check drs.peers and the network") from exc


def _access_url(object_url: str, drs_object: dict[str, Any], body: dict[str, Any]) -> tuple[
    str, list[str]
]:
    """Return the URL and headers of the first https access method, minting it if needed."""
    for method in drs_object.get("access_methods") or []:
        if method.get("type") not in ("https", "http"):
            continue
        if method.get("access_url"):
            found = method["access_url"]
            return str(found["url"]), list(found.get("headers") or [])
        if method.get("access_id"):
            minted = _post_json(f"{object_url}/access/{quote(method['access_id'], safe='')}", body)
            return str(minted["url"]), list(minted.get("headers") or [])
    raise FederationError(
        f"DRS object {drs_object.get('id')!r} offers no https access method; "
        "this client downloads over https only"
    )


def _download(
    access: tuple[str, list[str]], partial: Path, size: int, progress: TextIO | None
) -> None:
    url, header_lines = access
    headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    have = partial.stat().st_size if partial.exists() else 0
    if size >= 0 and have > size:
        partial.unlink()
        have = 0
    if size >= 0 and have == size:
        return
    if have:
        headers["Range"] = f"bytes={have}-"
        logger.info("resuming %s at byte %d", partial, have)
    request = urllib.request.Request(url, headers=headers)
    wrote_progress = False
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            # A server that ignores Range returns 200 and the whole object.
            mode = "ab" if have and response.status == 206 else "wb"
            with partial.open(mode) as handle:
                while chunk := response.read(_CHUNK):
                    handle.write(chunk)
                    if progress is not None:
                        progress.write(f"\r{partial.name}: {handle.tell()} of {size} bytes")
                        wrote_progress = True
    except urllib.error.HTTPError as exc:
        raise FederationError(
            f"downloading the object failed with status {exc.code}: {_message(exc)}"
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise FederationError(f"downloading the object failed: {exc}; run again to resume") from exc
    finally:
        # End the rewritten progress line, so an error message starts on its own line.
        if progress is not None and wrote_progress:
            progress.write("\n")
    # urllib returns a short body without an error when the server closes early.
    received = partial.stat().st_size
    if size >= 0 and received < size:
        raise FederationError(f"the connection closed after {received} of {size} bytes; "
                              f"{partial} keeps them, so run again to resume")


def _expected_checksum(drs_object: dict[str, Any]) -> tuple[str, str]:
    """Return (hashlib name, hex digest) of the strongest checksum this client can verify."""
    given = {str(item.get("type", "")).lower(): str(item.get("checksum", "")).lower()
             for item in drs_object.get("checksums") or []}
    for drs_name, hashlib_name in _HASHES:
        if given.get(drs_name):
            return hashlib_name, given[drs_name]
    raise FederationError(
        f"DRS object {drs_object.get('id')!r} has no sha-256 or md5 checksum to verify"
    )


def _contains_object(target: Path, expected: tuple[str, str], uri: str, force: bool) -> bool:
    """Return whether `target` already has the object's bytes; raise if it must be kept."""
    if not target.exists():
        return False
    if not target.is_file():
        raise FederationError(f"{target} exists and is not a file; choose another path with -o")
    algorithm, digest = expected
    if _digest(target, algorithm) == digest:
        return True
    if force:
        return False
    raise FederationError(
        f"{target} already exists and its {algorithm} differs from that of {uri}; pass "
        "--force to replace it, or choose another path with -o"
    )


def _verify(path: Path, expected: tuple[str, str], uri: str) -> None:
    algorithm, digest = expected
    found = _digest(path, algorithm)
    if found != digest:
        path.unlink()
        raise FederationError(
            f"the {algorithm} of {uri} is {found}, not {digest}; the download "
            "was deleted, so run the command again"
        )


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _safe_name(drs_object: dict[str, Any]) -> str:
    name = str(drs_object.get("name") or drs_object.get("id") or "drs-object")
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "drs-object"


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
    except (json.JSONDecodeError, OSError):
        return exc.reason or "no details"
    return str(body.get("msg") or body) if isinstance(body, dict) else str(body)
