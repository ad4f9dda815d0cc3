"""igv.js in chromium loads the same reads and variants that samtools and bcftools read."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowseNode
from tests.support import require_tool

BAM_ID = "htsnexus_test_NA12878"
VCF_ID = "spec-v4.3"
# 1-based and inclusive, as igv.js and samtools write regions.
READS_REGION = ("20", 6_000_000, 6_010_000)
VARIANTS_REGION = ("20", 1_000_000, 1_300_000)
UNMAPPED_FLAG = 0x4


def _display(region: tuple[str, int, int]) -> str:
    contig, start, end = region
    return f"{contig}:{start:,}-{end:,}"


def _samtools(region: tuple[str, int, int]) -> str:
    contig, start, end = region
    return f"{contig}:{start}-{end}"


@pytest.fixture(scope="module")
def report(open_node: BrowseNode, run_browser: Any, artifacts_dir: Path) -> dict[str, Any]:
    """The driver's report after opening the BAM, then the VCF, then the CRAM."""
    steps = [
        {"objectId": BAM_ID, "format": "BAM", "region": _display(READS_REGION),
         "screenshot": str(artifacts_dir / "bam-20-6000000.png")},
        {"objectId": VCF_ID, "format": "VCF", "region": _display(VARIANTS_REGION),
         "screenshot": str(artifacts_dir / "vcf-20-1000000.png")},
        {"objectId": BAM_ID, "format": "CRAM", "region": _display(READS_REGION)},
    ]
    found: dict[str, Any] = run_browser(f"{open_node.url}/browse", steps)
    return found


def _reads_in_region(step: dict[str, Any]) -> list[dict[str, Any]]:
    contig, start, end = READS_REGION
    (track,) = step["alignments"]
    return [read for read in track["reads"]
            if read["chr"] == contig and read["start"] < end and read["end"] > start - 1]


def test_alignment_track_is_ready(report: dict[str, Any]) -> None:
    step = report["steps"][0]

    assert step["status"] == "ready", step["message"]
    assert len(step["alignments"]) == 1


def test_alignments_match_samtools_view(report: dict[str, Any], open_node: BrowseNode) -> None:
    samtools = require_tool("samtools")
    bam = open_node.data_dir / f"{BAM_ID}.bam"
    # igv.js drops unmapped reads (flag 0x4) even when they have a position, so
    # samtools skips them too. The page turns off igv.js's other read filters.
    listing = subprocess.run(
        [samtools, "view", "-F", str(UNMAPPED_FLAG), str(bam), _samtools(READS_REGION)],
        capture_output=True, text=True, check=True,
    ).stdout
    expected: Counter[tuple[str, int, int]] = Counter()
    for line in listing.splitlines():
        name, flags, _, position = line.split("\t")[:4]
        expected[(name, int(flags), int(position) - 1)] += 1

    loaded = Counter((read["name"], read["flags"], read["start"])
                     for read in _reads_in_region(report["steps"][0]))

    assert sum(expected.values()) > 400
    assert sum(loaded.values()) == sum(expected.values())
    assert loaded == expected


def test_alignments_are_not_downsampled(report: dict[str, Any]) -> None:
    (track,) = report["steps"][0]["alignments"]

    assert track["downsampledIntervals"] == 0


def test_variants_match_bcftools_query(report: dict[str, Any], open_node: BrowseNode) -> None:
    bcftools = require_tool("bcftools")
    vcf = open_node.data_dir / f"{VCF_ID}.vcf.gz"
    expected = subprocess.run(
        [bcftools, "query", "-r", _samtools(VARIANTS_REGION), "-f", "%ID\n", str(vcf)],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    step = report["steps"][1]
    contig, start, end = VARIANTS_REGION
    (track,) = step["variants"]
    loaded_ids = [record["id"] for record in track["records"]
             if record["chr"] == contig and record["start"] < end and record["end"] > start - 1]

    assert step["status"] == "ready", step["message"]
    assert len(expected) == 3
    assert loaded_ids == expected


def test_cram_explains_igv_desktop(report: dict[str, Any]) -> None:
    step = report["steps"][2]

    assert step["status"] == "error"
    assert "reads htsget data only as BAM or VCF" in step["message"]
    assert "IGV desktop" in step["message"]


def test_page_contacts_only_its_node(report: dict[str, Any]) -> None:
    assert report["offsite"] == []


def test_page_reports_no_script_errors(report: dict[str, Any]) -> None:
    # A chrom-sizes reference has no sequence, and igv.js logs that on every load.
    errors = [text for text in report["consoleErrors"] if not text.startswith("No sequence for")]

    assert errors == []
