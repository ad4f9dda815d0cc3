"""Helpers shared by the test suites (fixtures live in conftest.py files)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CONSENTRY_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_tool(name: str) -> str:
    """Return the path of an external tool; skip the test without it, or fail in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install {name})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def shared_file(name: str) -> Path:
    """Return a read-only file from the shared test data folder."""
    path = SHARED_DATA / name
    if not path.is_file():
        message = f"test data file {path} is missing; set CONSENTRY_TEST_DATA"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
