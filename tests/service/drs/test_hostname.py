"""A node warns at start when its drs:// host name comes from a loopback address."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from service.app import build_services
from tests.service.drs.conftest import drs_settings

LOOPBACK_WARNING = "Other nodes cannot resolve such URIs"


def _start_messages(tmp_path: Path, caplog: pytest.LogCaptureFixture, **extra: Any) -> str:
    storage = {"backend": "local", "local_root": tmp_path / "objects"}
    settings = drs_settings(tmp_path / "state", storage, **extra)
    with caplog.at_level(logging.WARNING, logger="service.drs.build"):
        build_services(settings)
    return caplog.text


@pytest.mark.parametrize(("public_url", "host"), [
    (None, "127.0.0.1"),
    ("http://localhost:8080", "localhost"),
    ("http://[::1]:8080", "::1"),
    ("http://127.0.0.2:9000", "127.0.0.2"),
])
def test_loopback_hostname_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                 public_url: str | None, host: str) -> None:
    text = _start_messages(tmp_path, caplog, public_url=public_url, drs={})

    assert LOOPBACK_WARNING in text
    assert "drs.hostname" in text
    assert f"drs://{host}/" in text


@pytest.mark.parametrize(("public_url", "drs"), [
    (None, {"hostname": "drs.example.org"}),
    ("https://drs.example.org", {}),
])
def test_public_hostname_does_not_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                       public_url: str | None, drs: dict[str, str]) -> None:
    text = _start_messages(tmp_path, caplog, public_url=public_url, drs=drs)

    assert LOOPBACK_WARNING not in text
