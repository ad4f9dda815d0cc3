"""Objects stored as files under one local directory."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from adapters.errors import ObjectNotFound, StorageUnavailable
from adapters.storage.base import ByteSource, ObjectInfo, RangeUrl
from adapters.storage.signing import DataUrlSigner

logger = logging.getLogger(__name__)

_UPLOAD_CHUNK = 1 << 20


class LocalStorage:
    """Read objects from files under `root`; range URLs point at our `/data` endpoint."""

    name = "local"

    def __init__(self, root: Path, signer: DataUrlSigner) -> None:
        self.root = root.resolve()
        self.signer = signer

    def path_for(self, key: str) -> Path:
        """Map a key to a file path, refusing any key that would leave the root."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ObjectNotFound(key)
        return path

    def head(self, key: str) -> ObjectInfo:
        path = self.path_for(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot stat {key!r}: {exc.strerror}") from exc
        if not path.is_file():
            raise ObjectNotFound(key)
        return ObjectInfo(key, stat.st_size, f"{stat.st_size}-{stat.st_mtime_ns}")

    def read_range(self, key: str, start: int, end: int) -> bytes:
        path = self.path_for(key)
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                return handle.read(max(0, end - start))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key!r}: {exc.strerror}") from exc

    def read_all(self, key: str) -> bytes:
        return self.read_range(key, 0, self.head(key).size)

    def range_url(self, key: str, start: int, end: int, expires_in: int) -> RangeUrl:
        url = self.signer.sign(key, start, end, expires_in)
        return RangeUrl(url, {"Range": f"bytes={start}-{end - 1}"})

    def object_url(self, key: str, size: int, expires_in: int) -> str:
        return self.signer.sign(key, 0, size, expires_in)

    def upload(
        self, key: str, source: ByteSource, progress: Callable[[int], None] | None = None
    ) -> None:
        """Copy `source` to a temporary file beside the target, then rename it into place."""
        path = self.path_for(key)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as target:
                while chunk := source.read(_UPLOAD_CHUNK):
                    target.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
            os.replace(partial, path)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write {key!r} under {self.root}: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
