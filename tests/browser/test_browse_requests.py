"""The /browse page and igv.js send requests only to the node that served the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import BrowseNode

BAM_ID = "htsnexus_test_NA12878"
REGION = "20:6,000,000-6,010,000"
STEP_NAMES = ("valid load", "invalid region", "unknown contig", "igv search for a bad locus",
              "igv search for a gene")


@pytest.fixture(scope="module")
def report(open_node: BrowseNode, run_browser: Any, artifacts_dir: Path) -> dict[str, Any]:
    """The driver's report after a valid load and bad input in both search boxes."""
    steps = [
        {"objectId": BAM_ID, "format": "BAM", "region": REGION},
        {"objectId": BAM_ID, "format": "BAM", "region": "chr20:abc"},
        {"objectId": BAM_ID, "format": "BAM", "region": "chr20:6,000,000-6,010,000"},
        # igv.js 3.8.10 sends names it cannot resolve locally to a locus search
        # service on igv.org unless the browser option `search` is false.
        {"action": "igvSearch", "query": "chr20:abc"},
        {"action": "igvSearch", "query": "BRCA1",
         "screenshot": str(artifacts_dir / "igv-search-brca1.png")},
    ]
    found: dict[str, Any] = run_browser(f"{open_node.url}/browse", steps)
    return found


@pytest.fixture(scope="module")
def rejected_report(open_node: BrowseNode, run_browser: Any) -> dict[str, Any]:
    """The driver's report after a load whose region tickets all return 404.

    igv.js 3.8.10 fetches a URL mapping table from igv.org the first time a
    request fails with status 0, 403, 404 or 410, and no option turns that off.
    It keeps the table for the life of the page, so this load runs in a fresh page.
    """
    steps = [{"objectId": BAM_ID, "format": "BAM", "region": REGION, "rejectRangeTickets": True}]
    found: dict[str, Any] = run_browser(f"{open_node.url}/browse", steps)
    return found


def _origin(url: str) -> str:
    """Return scheme://host:port of a URL. A blob: URL has the origin of the page that made it."""
    if url.startswith("blob:"):
        url = url.removeprefix("blob:")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_driver_ran_every_step(report: dict[str, Any]) -> None:
    assert len(report["steps"]) == len(STEP_NAMES)
    assert report["seen"]


def test_page_blocks_nothing_offsite(report: dict[str, Any]) -> None:
    blocked = {name: step["offsite"] for name, step in zip(STEP_NAMES, report["steps"],
                                                            strict=True)}

    assert blocked == {name: [] for name in STEP_NAMES}
    assert report["offsite"] == []


def test_every_request_goes_to_node(report: dict[str, Any], open_node: BrowseNode) -> None:
    elsewhere = [url for url in report["seen"]
                 if not url.startswith("data:") and _origin(url) != open_node.url]

    assert elsewhere == []


def test_rejected_ticket_reaches_igv(rejected_report: dict[str, Any]) -> None:
    rejected = [request["url"] for request in rejected_report["requests"]
                if request.get("rejected")]

    assert rejected, "igv.js sent no region ticket request while the test rejected them"


def test_rejected_ticket_stays_local(rejected_report: dict[str, Any],
                                     open_node: BrowseNode) -> None:
    elsewhere = [url for url in rejected_report["seen"]
                 if not url.startswith("data:") and _origin(url) != open_node.url]

    assert rejected_report["offsite"] == []
    assert elsewhere == []


def test_igv_search_reports_unknown_names(report: dict[str, Any]) -> None:
    first, bad_locus, gene = report["steps"][0], report["steps"][3], report["steps"][4]

    assert bad_locus["igvAlerts"] == ["Unrecognized locus: chr20:abc"]
    assert gene["igvAlerts"] == ["Unrecognized locus: BRCA1"]
    assert bad_locus["locus"] == first["locus"]
    assert gene["locus"] == first["locus"]
