"""The /browse page reports 401 and 403 and sends the passport only as a bearer header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import GOOD_TOKEN, BrowseNode

BAM_ID = "htsnexus_test_NA12878"
REGION = "20:6,000,000-6,010,000"
WRONG_TOKEN = "browser-test-token-denied"


@pytest.fixture(scope="module")
def report(token_node: BrowseNode, run_browser: Any, artifacts_dir: Path) -> dict[str, Any]:
    """The driver's report after opening the BAM with no, a wrong and the right passport."""
    steps = [
        {"objectId": BAM_ID, "format": "BAM", "region": REGION,
         "screenshot": str(artifacts_dir / "passport-missing.png")},
        {"objectId": BAM_ID, "format": "BAM", "region": REGION, "passport": WRONG_TOKEN,
         "screenshot": str(artifacts_dir / "passport-denied.png")},
        {"objectId": BAM_ID, "format": "BAM", "region": REGION, "passport": GOOD_TOKEN,
         "screenshot": str(artifacts_dir / "passport-granted.png")},
    ]
    found: dict[str, Any] = run_browser(f"{token_node.url}/browse", steps)
    return found


def test_missing_passport_asks_for_one(report: dict[str, Any]) -> None:
    step = report["steps"][0]

    assert step["status"] == "error"
    assert step["message"].startswith("A passport is required to read htsnexus_test_NA12878.")
    assert "a bearer token is required for this object" in step["message"]


def test_denied_passport_names_the_object(report: dict[str, Any]) -> None:
    step = report["steps"][1]

    assert step["status"] == "error"
    assert "does not grant access to htsnexus_test_NA12878 (403 PermissionDenied)" in (
        step["message"])
    assert "the test token does not grant access" in step["message"]


def test_granted_passport_loads_reads(report: dict[str, Any]) -> None:
    step = report["steps"][2]
    (track,) = step["alignments"]

    assert step["status"] == "ready", step["message"]
    assert len(track["reads"]) > 400


def test_passport_stays_in_session_storage(report: dict[str, Any]) -> None:
    assert report["sessionPassport"] == GOOD_TOKEN
    assert GOOD_TOKEN not in report["finalUrl"]


def test_passport_never_appears_in_urls(report: dict[str, Any]) -> None:
    urls = [request["url"] for request in report["requests"]]

    assert urls
    assert not [url for url in urls if GOOD_TOKEN in url or WRONG_TOKEN in url]


def test_passport_goes_only_to_ticket_requests(report: dict[str, Any]) -> None:
    authorized = [request["url"] for request in report["requests"]
                  if request["authorization"] == f"Bearer {GOOD_TOKEN}"]
    data_requests = [request for request in report["requests"] if "/data/" in request["url"]]

    assert authorized
    assert all("/reads/" in url for url in authorized)
    assert data_requests
    assert all(request["authorization"] is None for request in data_requests)
