"""Fixtures shared by every test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _htslib_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep htslib from fetching CRAM references from the network."""
    cache = tmp_path_factory.mktemp("ref-cache")
    os.environ["REF_PATH"] = str(cache / "%2s/%2s/%s")
    os.environ["REF_CACHE"] = str(cache / "%2s/%2s/%s")


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """A writable directory for copies of shared test files."""
    return tmp_path
