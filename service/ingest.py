"""`consentry ingest`: upload files to the node's storage and register them as DRS objects.

Each file is stored under `<dataset>/<file name>`, with its index beside it.
The sha-256 and md5 are computed from the bytes as they are uploaded, and
the object is registered only after the data file and its index are both
stored, so a failed upload leaves nothing registered. Running ingest again
on the same file re-uses the registered object and uploads nothing. If the
consent codes differ from the recorded ones, it raises ConsentMismatch
unless `replace_consent` is set.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from adapters.errors import ObjectNotFound
from adapters.storage.base import Storage
from service.drs.objects import consent_names
from service.drs.registry import DrsRecord, DrsRegistry
from service.ingest_index import MEDIA_TYPES, build_index, detect_format, find_index

logger = logging.getLogger(__name__)

DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
FILE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
ID_PREFIX = re.compile(r"^[A-Za-z0-9._~-]{0,128}$")
_HASH_CHUNK = 1 << 20


class IngestError(Exception):
    """A file cannot be ingested; the message names the file and what to do."""


class ConsentMismatch(IngestError):
    """The file is already registered with other DUO codes than the ones given."""


@dataclass(frozen=True)
class IngestOptions:
    """The dataset the files belong to, its DUO consent codes, and the DRS id prefix.

    `replace_consent` allows replacing the codes of an object that is
    already registered with other codes. Without it, ingest raises
    ConsentMismatch and changes nothing.
    """

    dataset_id: str
    consent: tuple[str, ...] = ()
    id_prefix: str | None = None
    replace_consent: bool = False

    def prefix(self) -> str:
        """Return the DRS id prefix: the given one, else `<dataset>.`."""
        return f"{self.dataset_id}." if self.id_prefix is None else self.id_prefix


@dataclass(frozen=True)
class IngestResult:
    """The registered object, whether this run uploaded it, and the consent codes it replaced."""

    record: DrsRecord
    uploaded: bool
    replaced_consent: tuple[str, ...] | None = None


class HashingReader:
    """A read-only, non-seekable view of a file that computes sha-256 and md5 as it is read."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sha256.update(data)
        self.md5.update(data)
        self.size += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class Progress:
    """Upload progress of one file, printed to `stream`.

    On a terminal, one line is rewritten with a carriage return at most
    once per whole percent. Elsewhere, such as in a log file, one line is
    printed when the upload completes. `close` ends a rewritten line that a
    failed upload left open, so the next message starts on a line of its own.
    """

    def __init__(self, stream: TextIO | None, label: str, total: int) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.sent = 0
        self.shown_percent = -1
        self.on_terminal = stream is not None and stream.isatty()
        self.line_open = False

    def __call__(self, sent: int) -> None:
        self.sent += sent
        percent = 100 if self.total == 0 else min(100, self.sent * 100 // self.total)
        if self.stream is None or percent == self.shown_percent:
            return
        self.shown_percent = percent
        line = f"{self.label}: {percent:3d}% of {self.total} bytes"
        if self.on_terminal:
            self.stream.write("\r" + line)
            self.line_open = True
        if percent == 100:
            self.stream.write("\n" if self.on_terminal else line + "\n")
            self.line_open = False
        self.stream.flush()

    def close(self) -> None:
        """End the progress line if the upload stopped before 100%."""
        if self.stream is not None and self.line_open:
            self.stream.write("\n")
            self.stream.flush()
            self.line_open = False


def check_options(options: IngestOptions) -> None:
    """Reject a dataset id or id prefix that cannot appear in storage keys and DRS ids."""
    if not DATASET_ID.match(options.dataset_id):
        raise IngestError(
            f"dataset id {options.dataset_id!r} is invalid; use letters, digits, '_' and '-' "
            "(at most 128 characters, starting with a letter or digit)"
        )
    if options.id_prefix is not None and not ID_PREFIX.match(options.id_prefix):
        raise IngestError(
            f"id prefix {options.id_prefix!r} is invalid; DRS ids may contain only letters, "
            "digits, '.', '_', '-' and '~'"
        )


def ingest_files(
    paths: Sequence[Path],
    options: IngestOptions,
    storage: Storage,
    registry: DrsRegistry,
    progress: TextIO | None = None,
) -> list[IngestResult]:
    """Ingest each file in turn; stop at the first failure, keeping the files already done."""
    check_options(options)
    for path in paths:
        _check_file(path)
    return [ingest_file(path, options, storage, registry, progress) for path in paths]


def ingest_file(
    path: Path,
    options: IngestOptions,
    storage: Storage,
    registry: DrsRegistry,
    progress: TextIO | None = None,
) -> IngestResult:
    """Upload one file and its index, then register it; re-use an identical registered file."""
    _check_file(path)
    existing = registry.find(options.dataset_id, path.name)
    replaced = None
    if existing is not None:
        intact = _same_content(existing, path, storage)
        existing, replaced = _reconcile_consent(existing, path, options, registry)
        if intact:
            logger.info("%s is already registered as %s; nothing uploaded", path, existing.id)
            return IngestResult(existing, uploaded=False, replaced_consent=replaced)
    object_id = existing.id if existing else f"{options.prefix()}{uuid.uuid4().hex}"
    record = _store(path, object_id, options, storage, progress)
    if existing is None:
        registry.add(record)
        return IngestResult(record, uploaded=True)
    if record.sha256 != existing.sha256:
        raise IngestError(f"{path} changed while it was uploaded; ingest it again")
    return IngestResult(existing, uploaded=True, replaced_consent=replaced)


def _store(path: Path, object_id: str, options: IngestOptions, storage: Storage,
           progress: TextIO | None) -> DrsRecord:
    """Upload `path` and its index, and return the record to register under `object_id`."""
    key = f"{options.dataset_id}/{path.name}"
    fmt = detect_format(path)
    with tempfile.TemporaryDirectory(prefix="consentry-ingest-") as work_dir:
        index = None
        if fmt is not None:
            index = find_index(path, fmt) or build_index(path, fmt, Path(work_dir))
        reader = _upload(storage, key, path, progress)
        index_keys: tuple[str, ...] = ()
        if index is not None:
            with index.path.open("rb") as handle:
                storage.upload(key + index.suffix, handle)
            index_keys = (key + index.suffix,)
    return DrsRecord(
        id=object_id,
        name=path.name,
        dataset_id=options.dataset_id,
        storage_key=key,
        size=reader.size,
        created_time=_modified_time(path),
        mime_type=MEDIA_TYPES.get(fmt or "", "application/octet-stream"),
        sha256=reader.sha256.hexdigest(),
        md5=reader.md5.hexdigest(),
        format=fmt,
        index_keys=index_keys,
        consent=options.consent,
    )


def _reconcile_consent(
    existing: DrsRecord, path: Path, options: IngestOptions, registry: DrsRegistry
) -> tuple[DrsRecord, tuple[str, ...] | None]:
    """Return the record with the requested DUO codes, and the codes replaced, if any.

    Codes are compared as sets, so their order does not matter. Other codes
    raise ConsentMismatch unless `options.replace_consent` is set, because
    a typing mistake must not silently change what a custodian recorded.
    """
    if set(existing.consent) == set(options.consent):
        return existing, None
    recorded = consent_names(existing.consent) or "no consent codes"
    requested = consent_names(options.consent) or "no consent codes"
    if not options.replace_consent:
        raise ConsentMismatch(
            f"{path} is already registered as {existing.id} with other consent codes: "
            f"{recorded}, not {requested}. The recorded codes were kept."
        )
    registry.replace_consent(existing.id, options.consent)
    logger.info("replaced the consent of DRS object %s: %s, now %s",
                existing.id, recorded, requested)
    return replace(existing, consent=options.consent), existing.consent


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise IngestError(f"{path} is not a readable file; check the path")
    if not FILE_NAME.match(path.name):
        raise IngestError(
            f"file name {path.name!r} is not portable; rename it to use only letters, digits, "
            "'.', '_' and '-'"
        )


def _same_content(existing: DrsRecord, path: Path, storage: Storage) -> bool:
    """Return whether `path` matches the registered object and the stored copy is intact.

    Raises IngestError when the file differs, because a DRS id must always
    return the same bytes.
    """
    sha256 = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            sha256.update(chunk)
    if sha256.hexdigest() != existing.sha256:
        raise IngestError(
            f"dataset {existing.dataset_id!r} already has a different file named "
            f"{existing.name!r} (DRS id {existing.id}); DRS objects never change, so rename "
            "the file or ingest it into another dataset"
        )
    try:
        stored = storage.head(existing.storage_key)
    except ObjectNotFound:
        logger.warning("registered object %s is missing from storage; uploading it again",
                       existing.id)
        return False
    return stored.size == existing.size


def _upload(storage: Storage, key: str, path: Path, stream: TextIO | None) -> HashingReader:
    size = path.stat().st_size
    progress = Progress(stream, path.name, size)
    try:
        with path.open("rb") as handle:
            reader = HashingReader(handle)
            storage.upload(key, reader, progress)
    finally:
        progress.close()
    if reader.size != size:
        raise IngestError(f"{path} changed size while it was uploaded; ingest it again")
    return reader


def _modified_time(path: Path) -> str:
    """Return the file's modification time in RFC 3339, UTC, to the second."""
    moment = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
