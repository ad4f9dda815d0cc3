"""Nodes, chromium and the Playwright drivers for the /browse and /audit tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.access import AccessDecision, AccessRequest, OpenAccessPolicy
from service.app import build_services, create_app
from service.config import load_settings
from service.errors import InvalidAuthentication
from service.handlers.pages import IGV_SCRIPT
from tests.service.conftest import ServerThread
from tests.support import IN_CI, free_port, require_tool, shared_file

BROWSER_TESTS = Path(__file__).resolve().parent
DRIVER = BROWSER_TESTS / "drive.mjs"
AUDIT_DRIVER = BROWSER_TESTS / "audit.mjs"
PLAYWRIGHT = BROWSER_TESTS / "node_modules" / "playwright-core"
DRIVER_TIMEOUT_SECONDS = 240
SERVED_FILES = (
    "htsnexus_test_NA12878.bam",
    "htsnexus_test_NA12878.bam.bai",
    "htsnexus_test_NA12878.cram",
    "htsnexus_test_NA12878.cram.crai",
    "spec-v4.3.vcf.gz",
    "spec-v4.3.vcf.gz.tbi",
)
GOOD_TOKEN = "browser-test-token-granted"


class BearerTokenPolicy:
    """Allow requests carrying GOOD_TOKEN. No token gives a 401, and any other token a 403."""

    def decide(self, request: AccessRequest) -> AccessDecision:
        if not request.credentials:
            raise InvalidAuthentication("a bearer token is required for this object")
        if GOOD_TOKEN in request.credentials:
            return AccessDecision(True, ("the test token grants access",))
        return AccessDecision(False, ("the test token does not grant access",))


@dataclass(frozen=True)
class BrowseNode:
    """A running node and the directory of the copies it serves."""

    url: str
    data_dir: Path


def require_npm_package(path: Path, command: str) -> None:
    """Skip the test when an npm package is missing, or fail in CI."""
    if path.exists():
        return
    message = f"{path} is missing; run {command!r}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _start(policy: Any, data_dir: Path, state_dir: Path) -> Iterator[BrowseNode]:
    port = free_port()
    settings = load_settings(None, port=port, state_dir=state_dir,
                             storage={"backend": "local", "local_root": data_dir})
    services = build_services(settings)
    # Set the policy here so these tests do not depend on the node's access settings.
    services.htsget.policy = policy
    with ServerThread(create_app(settings, services), port):
        yield BrowseNode(settings.base_url, data_dir)


@pytest.fixture(scope="session")
def browse_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with copies of the real BAM, CRAM and VCF and their indexes."""
    root = tmp_path_factory.mktemp("browse-objects")
    for name in SERVED_FILES:
        shutil.copy(shared_file(name), root / name)
    return root


@pytest.fixture(scope="session")
def open_node(browse_data: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[BrowseNode]:
    """A node that serves every object openly."""
    yield from _start(OpenAccessPolicy(), browse_data, tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="session")
def token_node(browse_data: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[BrowseNode]:
    """A node that serves objects only to requests carrying GOOD_TOKEN."""
    yield from _start(BearerTokenPolicy(), browse_data, tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $CONSENTRY_ARTIFACTS, or a temporary directory."""
    configured = os.environ.get("CONSENTRY_ARTIFACTS")
    if configured:
        path = Path(configured) / "browser"
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("browser-artifacts")


def _run_driver(node: str, driver: Path, work: Path, scenario: dict[str, Any]) -> dict[str, Any]:
    scenario_path = work / "scenario.json"
    scenario_path.write_text(json.dumps(scenario))
    completed = subprocess.run(
        [node, str(driver), str(scenario_path)], cwd=BROWSER_TESTS,
        capture_output=True, text=True, timeout=DRIVER_TIMEOUT_SECONDS, check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"the chromium driver {driver.name} failed (exit {completed.returncode}):\n"
                    f"{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


@pytest.fixture(scope="session")
def run_audit_browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Return a function that drives chromium through /audit and returns the driver's report.

    The function takes the page URL, the steps of audit.mjs and extra scenario keys
    (`abortPaths`, `initialScreenshot`).
    """
    node = require_tool("node")
    chromium = require_tool("chromium")
    require_npm_package(PLAYWRIGHT, "npm ci --prefix tests/browser")

    def run(page_url: str, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        work = tmp_path_factory.mktemp("chromium")
        scenario = {"pageUrl": page_url, "executablePath": chromium,
                    "userDataDir": str(work / "profile"), "steps": steps, **extra}
        return _run_driver(node, AUDIT_DRIVER, work, scenario)

    return run


@pytest.fixture(scope="session")
def run_browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Return a function that drives chromium through /browse and returns the driver's report."""
    node = require_tool("node")
    chromium = require_tool("chromium")
    require_npm_package(PLAYWRIGHT, "npm ci --prefix tests/browser")
    require_npm_package(IGV_SCRIPT, "npm ci --prefix service/static")

    def run(page_url: str, steps: list[dict[str, str]]) -> dict[str, Any]:
        work = tmp_path_factory.mktemp("chromium")
        scenario = {"pageUrl": page_url, "executablePath": chromium,
                    "userDataDir": str(work / "profile"), "steps": steps}
        return _run_driver(node, DRIVER, work, scenario)

    return run
