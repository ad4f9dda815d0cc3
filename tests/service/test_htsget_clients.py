"""Real samtools and bcftools read regions through Consentry over both storage backends.

Each check downloads the region through the htsget URL with the unmodified
tool, indexes the result, and compares the records inside the region with
what the same tool reads from the local file. A superset outside the
region is allowed; a missing or changed record inside it is not.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.service.conftest import Node
from tests.support import require_tool, shared_file

BAM_ID = "htsnexus_test_NA12878"
LENGTH_11 = 135006516

# (referenceName, start, end) in htsget coordinates: 0-based, end exclusive.
READ_REGIONS = [
    ("11", None, None),                     # whole contig
    ("20", None, None),                     # whole contig
    ("*", None, None),                      # unplaced unmapped reads
    ("11", 5012345, 5012346),               # one base
    ("11", 4999975, 4999976),               # the first read's first base
    ("11", 5013503, 5013505),               # across a 16 kbp linear-index window edge
    ("11", 4980735, 4980737),               # across a 128 kbp bin edge
    ("20", 5999999, 6000001),               # dense region start
    ("20", 6099999, 6100001),               # the last reads of contig 20
    ("11", 1, 100),                         # empty region at the contig start
    ("11", 5000000, 5000000),               # empty region, start == end
    ("1", None, None),                      # a contig without reads
    ("11", LENGTH_11 - 1000, LENGTH_11),    # the contig end
    ("11", 5050000, None),                  # from a start to the contig end
    ("20", None, 6010000),                  # from the contig start to an end
    ("11", 5000000, 5100000),               # every read on contig 11, by coordinates
    ("20", 0, 2**32 - 1),                   # an end far past the contig end is clamped
]

VARIANT_FILES = {
    "sample1-bcbio-cancer": [
        ("chrM", None, None), ("chrM", 0, 151), ("chrM", 150, 151), ("chrM", 151, 152),
        ("chrM", 194, 16571), ("chrM", 16000, 16571), ("chrM", 1, 2), ("chr22", None, None),
        ("chrM", 16570, 16571), ("chrM", 151, 195), ("chrM", 149, 150), ("chrM", 0, 2**32 - 1),
        ("chrM", 200, None), ("chrM", None, 160), ("chrM", 0, 1),
    ],
    "spec-v4.3": [
        ("20", None, None), ("20", 14369, 14370), ("20", 14370, 17330), ("20", 17329, 1110696),
        ("20", 1110695, 1110696), ("20", 1230236, 1234567), ("20", 1234566, 1234567),
        ("20", 0, 14369), ("20", 16383, 16385), ("20", 1234567, 62435964), ("20", 0, 2**32 - 1),
        ("20", 1000000, None), ("20", None, 20000), ("20", 14000, 15000),
        ("20", 62435963, 62435964),
    ],
}


def _url(node: Node, endpoint: str, object_id: str, fmt: str, region: tuple) -> str:
    name, start, end = region
    params = {"format": fmt, "referenceName": name, "start": start, "end": end}
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return f"{node.url}/{endpoint}/{object_id}?{query}"


def _samtools_region(region: tuple) -> str:
    name, start, end = region
    if name == "*" or (start is None and end is None):
        return name
    first = (start or 0) + 1
    return f"{name}:{first}-{end}" if end is not None else f"{name}:{first}"


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=120)
    assert result.returncode == 0, f"{' '.join(args)} failed: {result.stderr}"
    assert "EOF marker is absent" not in result.stderr, result.stderr
    assert "truncated" not in result.stderr.lower(), result.stderr
    return result


def _reads_in_region(path: Path, region: str) -> list[str]:
    return _run("samtools", "view", str(path), region).stdout.splitlines()


def _region_through_htsget(
    node: Node, object_id: str, fmt: str, region: tuple, tmp_path: Path
) -> tuple[list[str], list[str]]:
    """Return the region's records read through htsget and from the local copy of the BAM/CRAM."""
    require_tool("samtools")
    local = shared_file(f"{BAM_ID}.{fmt.lower()}")
    downloaded = tmp_path / "htsget.bam"
    url = _url(node, "reads", object_id, fmt, region)
    _run("samtools", "view", "-b", "-o", str(downloaded), url)
    _run("samtools", "index", str(downloaded))
    target = _samtools_region(region)
    return _reads_in_region(downloaded, target), _reads_in_region(local, target)


@pytest.mark.parametrize("fmt", ["BAM", "CRAM"])
@pytest.mark.parametrize("region", READ_REGIONS, ids=[_samtools_region(r) for r in READ_REGIONS])
def test_samtools_region_matches_local(node: Node, fmt: str, region: tuple, tmp_path: Path) -> None:
    received, expected = _region_through_htsget(node, BAM_ID, fmt, region, tmp_path)

    assert received == expected


GZI_REGIONS = READ_REGIONS[:9]


@pytest.mark.parametrize("region", GZI_REGIONS, ids=[_samtools_region(r) for r in GZI_REGIONS])
def test_samtools_region_with_gzi_matches_local(node: Node, region: tuple, tmp_path: Path) -> None:
    received, expected = _region_through_htsget(node, "with-gzi", "BAM", region, tmp_path)

    assert received == expected


@pytest.mark.parametrize("region", READ_REGIONS, ids=[_samtools_region(r) for r in READ_REGIONS])
def test_samtools_region_across_block_edges(node: Node, region: tuple, tmp_path: Path) -> None:
    # The same reads, re-compressed so that records cross block edges.
    object_id = "records-span-blocks"
    received, expected = _region_through_htsget(node, object_id, "BAM", region, tmp_path)

    assert received == expected


@pytest.mark.parametrize("fmt", ["BAM", "CRAM"])
def test_samtools_whole_file_matches_local(node: Node, fmt: str) -> None:
    require_tool("samtools")
    local = shared_file(f"{BAM_ID}.{fmt.lower()}")
    url = f"{node.url}/reads/{BAM_ID}?format={fmt}"

    received = _run("samtools", "view", url).stdout
    expected = _run("samtools", "view", str(local)).stdout

    assert received == expected


@pytest.mark.parametrize("fmt", ["BAM", "CRAM"])
def test_samtools_header_class_matches_local(node: Node, fmt: str) -> None:
    require_tool("samtools")
    local = shared_file(f"{BAM_ID}.{fmt.lower()}")
    url = f"{node.url}/reads/{BAM_ID}?format={fmt}&class=header"

    header = _run("samtools", "view", "--no-PG", "-H", url).stdout
    records = _run("samtools", "view", url).stdout

    assert header == _run("samtools", "view", "--no-PG", "-H", str(local)).stdout
    assert records == ""


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
@pytest.mark.parametrize("object_id", sorted(VARIANT_FILES))
def test_bcftools_regions_match_local(node: Node, fmt: str, object_id: str, tmp_path: Path) -> None:
    require_tool("bcftools")
    suffix = ".vcf.gz" if fmt == "VCF" else ".bcf"
    local = shared_file(object_id + suffix)
    for number, region in enumerate(VARIANT_FILES[object_id]):
        downloaded = tmp_path / f"region{number}.vcf.gz"
        _run("bcftools", "view", "-Oz", "-o", str(downloaded),
             _url(node, "variants", object_id, fmt, region))
        _run("bcftools", "index", "-t", str(downloaded))
        target = _samtools_region(region)

        expected = _run("bcftools", "view", "-H", "-r", target, str(local)).stdout
        received = _run("bcftools", "view", "-H", "-r", target, str(downloaded)).stdout

        assert received == expected, f"region {region} of {object_id} as {fmt}"


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_bcftools_header_class_matches_local(node: Node, fmt: str) -> None:
    require_tool("bcftools")
    local = shared_file("spec-v4.3" + (".vcf.gz" if fmt == "VCF" else ".bcf"))
    url = f"{node.url}/variants/spec-v4.3?format={fmt}&class=header"

    header = _run("bcftools", "view", "--no-version", "-h", url).stdout
    records = _run("bcftools", "view", "-H", url).stdout

    assert header == _run("bcftools", "view", "--no-version", "-h", str(local)).stdout
    assert records == ""


def _post_ticket(node: Node, endpoint: str, object_id: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{node.url}/{endpoint}/{object_id}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _fetch_ticket_data(ticket: dict) -> bytes:
    """Fetch and concatenate a ticket's blocks, as an htsget client does."""
    import base64

    data = b""
    for entry in ticket["htsget"]["urls"]:
        url = entry["url"]
        if url.startswith("data:"):
            data += base64.b64decode(url.split(",", 1)[1])
            continue
        request = urllib.request.Request(url, headers=entry.get("headers", {}))
        with urllib.request.urlopen(request, timeout=30) as response:
            data += response.read()
    return data


@pytest.mark.parametrize("fmt", ["BAM", "CRAM"])
def test_post_regions_return_each_record_once_in_file_order(
    node: Node, fmt: str, tmp_path: Path
) -> None:
    require_tool("samtools")
    regions = [
        {"referenceName": "20", "start": 6000000, "end": 6005000},
        {"referenceName": "11", "start": 5000000, "end": 5010000},
        {"referenceName": "11", "start": 5005000, "end": 5020000},
        {"referenceName": "*"},
    ]
    ticket = _post_ticket(node, "reads", BAM_ID, {"format": fmt, "regions": regions})
    downloaded = tmp_path / f"post.{fmt.lower()}"
    downloaded.write_bytes(_fetch_ticket_data(ticket))
    records = _run("samtools", "view", str(downloaded)).stdout.splitlines()
    local = shared_file(f"{BAM_ID}.{fmt.lower()}")
    wanted = _run("samtools", "view", str(local), "11:5000001-5020000", "20:6000001-6005000",
                  "*").stdout.splitlines()

    assert ticket["htsget"]["format"] == fmt
    assert len(records) == len(set(records)), "a record was returned twice"
    assert set(wanted) <= set(records)
    assert records == sorted(records, key=_file_order(local)), "records are not in file order"


def _file_order(local: Path):  # type: ignore[no-untyped-def]
    lines = _run("samtools", "view", str(local)).stdout.splitlines()
    order = {line: position for position, line in enumerate(lines)}
    return lambda line: order[line]


def test_htsget_python_client_downloads_region(node: Node, tmp_path: Path) -> None:
    require_tool("samtools")
    htsget = pytest.importorskip("htsget")
    output = tmp_path / "client.bam"
    with output.open("wb") as handle:
        htsget.get(f"{node.url}/reads/{BAM_ID}", handle, reference_name="20",
                   start=6000000, end=6020000)
    _run("samtools", "index", str(output))

    received = _reads_in_region(output, "20:6000001-6020000")
    expected = _reads_in_region(shared_file(f"{BAM_ID}.bam"), "20:6000001-6020000")

    assert received == expected
    assert len(expected) > 0
