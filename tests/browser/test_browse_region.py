"""The /browse page checks the region before igv.js gets it and keeps the view on an error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import BrowseNode

BAM_ID = "htsnexus_test_NA12878"
VALID_REGION = "20:6,000,000-6,010,000"
ACCEPTED_FORMS = ("chr20", "chr20:6,000,000-6,010,000")
# Each invalid region with a phrase that the page's message must contain.
INVALID_REGIONS = {
    "chr20:abc": "neither a contig name nor contig:start-end",
    "20:1-": "neither a contig name nor contig:start-end",
    "20:6,0000-7,000": "neither a contig name nor contig:start-end",
    "20:0-100": "positions start at 1",
    "20:6,010,000-6,000,000": "the start 6,010,000 is after the end 6,000,000",
    "20:1-9999999999": "larger than the maximum position 2,147,483,647",
}
UNKNOWN_CONTIG_REGION = "chr20:6,000,000-6,010,000"
# The regions submitted in order, one per step of the driver.
REGIONS = [VALID_REGION, *INVALID_REGIONS, UNKNOWN_CONTIG_REGION, "20"]


@pytest.fixture(scope="module")
def report(open_node: BrowseNode, run_browser: Any) -> dict[str, Any]:
    """The driver's report after a valid load, each invalid region, an unknown contig and a
    whole-contig region."""
    steps = [{"objectId": BAM_ID, "format": "BAM", "region": region} for region in REGIONS]
    found: dict[str, Any] = run_browser(f"{open_node.url}/browse", steps)
    return found


def _step(report: dict[str, Any], region: str) -> dict[str, Any]:
    step: dict[str, Any] = report["steps"][REGIONS.index(region)]
    return step


@pytest.mark.parametrize("region", list(INVALID_REGIONS))
def test_invalid_region_names_value(report: dict[str, Any], region: str) -> None:
    step = _step(report, region)

    assert step["status"] == "error"
    assert f'"{region}"' in step["message"]
    assert INVALID_REGIONS[region] in step["message"]
    for form in ACCEPTED_FORMS:
        assert form in step["message"]


@pytest.mark.parametrize("region", [*INVALID_REGIONS, UNKNOWN_CONTIG_REGION])
def test_invalid_region_keeps_view(report: dict[str, Any], region: str) -> None:
    first = report["steps"][0]
    step = _step(report, region)

    assert first["status"] == "ready", first["message"]
    assert step["locus"] == first["locus"]
    assert [track["name"] for track in step["alignments"]] == [
        track["name"] for track in first["alignments"]]
    assert len(step["alignments"][0]["reads"]) == len(first["alignments"][0]["reads"])


def test_unknown_contig_lists_header_names(report: dict[str, Any]) -> None:
    step = _step(report, UNKNOWN_CONTIG_REGION)

    assert step["status"] == "error"
    assert "chr20 is not a contig in the header of htsnexus_test_NA12878" in step["message"]
    assert "1, 2, 3, 4, 5, 6, 7, 8, 9, 10" in step["message"]
    assert "76 more" in step["message"]


def test_contig_alone_shows_whole_contig(report: dict[str, Any]) -> None:
    step = _step(report, "20")

    assert step["status"] == "ready", step["message"]
    assert step["locus"].startswith("20:")
