"""The embedded broker's subject registry: which grants it asserts for each subject."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path
from typing import Any

from service.auth.broker import BrokerSubject
from service.auth.models import subject_hash

logger = logging.getLogger(__name__)

REGISTRY_FILE = "subjects.json"


class RegistryError(Exception):
    """The registry file is unreadable or not in the expected shape."""


class SubjectRegistry:
    """Subjects and their grants in one JSON file, replaced atomically on every change.

    The file is read again on every lookup, so subjects the CLI adds are seen by a
    running node without a restart.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / REGISTRY_FILE

    def get(self, sub: str) -> BrokerSubject | None:
        """Return the registered subject, or None when the broker does not know `sub`."""
        entry = self._read().get(sub)
        if entry is None:
            return None
        return BrokerSubject(
            sub=sub,
            grants=tuple(entry.get("grants", ())),
            affiliation=entry.get("affiliation"),
            researcher_status=bool(entry.get("researcher_status", False)),
        )

    def put(self, subject: BrokerSubject) -> None:
        """Add or replace a subject's grants; a lock file serialises writers across processes."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        descriptor = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            entries = self._read()
            entries[subject.sub] = {
                "grants": list(subject.grants),
                "affiliation": subject.affiliation,
                "researcher_status": subject.researcher_status,
            }
            self._write(entries)
        finally:
            os.close(descriptor)
        logger.info("registered broker subject sub_hash=%s grants=%d",
                    subject_hash(subject.sub), len(subject.grants))

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"cannot read the broker registry {self.path}: {exc}") from exc
        if not isinstance(document, dict) or not all(
            isinstance(entry, dict) for entry in document.values()
        ):
            raise RegistryError(f"broker registry {self.path} is not a JSON object of subjects")
        return document

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        """Write to a temporary file, then rename it over the registry in one step."""
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        data = json.dumps(entries, indent=2, sort_keys=True).encode("utf-8")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, self.path)
