"""The nine DRS 1.5 operations over both storage backends, with open access."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.service.drs.conftest import INGESTED, MAX_BULK, DrsNode
from tests.support import require_tool, shared_file

BAM = "htsnexus_test_NA12878.bam"
CRAM = "htsnexus_test_NA12878.cram"
VCF = "sample1-bcbio-cancer.vcf.gz"
BCF = "spec-v4.3.bcf"
OTHER = "README.md"


def _object(node: DrsNode, name: str) -> dict[str, Any]:
    response = httpx.get(f"{node.drs}/objects/{node.records[name].id}", timeout=10)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _methods(drs_object: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {method["type"]: method for method in drs_object["access_methods"]}


def test_service_info_reports_bulk_limit(drs_node: DrsNode) -> None:
    info = httpx.get(f"{drs_node.drs}/service-info", timeout=10).json()
    assert info["type"] == {"group": "org.ga4gh", "artifact": "drs", "version": "1.5.0"}
    assert info["maxBulkRequestLength"] == MAX_BULK
    assert info["drs"]["maxBulkRequestLength"] == MAX_BULK
    assert info["drs"]["objectCount"] == len(INGESTED)
    total = sum(shared_file(name).stat().st_size for name in INGESTED)
    assert info["drs"]["totalObjectSize"] == total


@pytest.mark.parametrize("name", INGESTED)
def test_get_object_describes_file(drs_node: DrsNode, name: str) -> None:
    drs_object = _object(drs_node, name)
    data = shared_file(name).read_bytes()
    record = drs_node.records[name]
    assert drs_object["id"] == record.id
    assert drs_object["self_uri"] == f"drs://a.example.org/{record.id}"
    assert drs_object["size"] == len(data)
    assert drs_object["name"] == name
    assert datetime.fromisoformat(drs_object["created_time"]).tzinfo is not None
    assert drs_object["checksums"] == [
        {"type": "md5", "checksum": hashlib.md5(data).hexdigest()},
        {"type": "sha-256", "checksum": hashlib.sha256(data).hexdigest()},
    ]
    assert drs_object["description"] == "Data use: GRU (DUO:0000042), PUB (DUO:0000019)"


def test_object_access_methods_follow_backend(drs_node: DrsNode) -> None:
    methods = _methods(_object(drs_node, BAM))
    assert methods["https"]["access_id"] == "https"
    assert methods["htsget"]["access_url"]["url"].startswith(f"{drs_node.url}/reads/cohort1/")
    assert ("s3" in methods) == (drs_node.backend == "s3")


def test_s3_access_method_names_bucket_key(drs_s3_node: DrsNode) -> None:
    url = _methods(_object(drs_s3_node, BAM))["s3"]["access_url"]["url"]
    assert url == f"s3://consentry-drs-tests/institution-a/cohort1/{BAM}"


@pytest.mark.parametrize(("name", "suffix"), [
    (CRAM, "/reads/cohort1/htsnexus_test_NA12878?format=CRAM"),
    (VCF, "/variants/cohort1/sample1-bcbio-cancer"),
    (BCF, "/variants/cohort1/spec-v4.3?format=BCF"),
])
def test_htsget_access_url_names_format(drs_local_node: DrsNode, name: str, suffix: str) -> None:
    url = _methods(_object(drs_local_node, name))["htsget"]["access_url"]["url"]
    assert url == drs_local_node.url + suffix


def test_plain_file_has_no_htsget_method(drs_local_node: DrsNode) -> None:
    assert "htsget" not in _methods(_object(drs_local_node, OTHER))


def test_post_object_matches_get(drs_node: DrsNode) -> None:
    record = drs_node.records[VCF]
    response = httpx.post(f"{drs_node.drs}/objects/{record.id}",
                          json={"passports": [], "expand": False}, timeout=10)
    assert response.status_code == 200
    assert response.json() == _object(drs_node, VCF)


def test_options_object_lists_auth_types(drs_node: DrsNode) -> None:
    record = drs_node.records[BAM]
    response = httpx.options(f"{drs_node.drs}/objects/{record.id}", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "drs_object_id": record.id,
        "supported_types": ["PassportAuth", "BearerAuth"],
        "passport_auth_issuers": [],
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_access_url_serves_whole_object(drs_node: DrsNode, method: str) -> None:
    record = drs_node.records[BAM]
    url = f"{drs_node.drs}/objects/{record.id}/access/https"
    body: dict[str, Any] | None = {"passports": []} if method == "POST" else None
    response = httpx.request(method, url, json=body, timeout=10)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["headers"] == []
    data = httpx.get(response.json()["url"], timeout=30).content
    assert hashlib.sha256(data).hexdigest() == record.sha256


def test_access_url_honours_range(drs_node: DrsNode) -> None:
    record = drs_node.records[BAM]
    minted = httpx.get(f"{drs_node.drs}/objects/{record.id}/access/https", timeout=10).json()
    response = httpx.get(minted["url"], headers={"Range": "bytes=1000-"}, timeout=30)
    assert response.status_code == 206
    assert response.content == shared_file(BAM).read_bytes()[1000:]


def test_bulk_objects_lists_unresolved(drs_node: DrsNode) -> None:
    ids = [drs_node.records[BAM].id, "no-such-object", drs_node.records[VCF].id]
    response = httpx.post(f"{drs_node.drs}/objects", json={"bulk_object_ids": ids}, timeout=10)
    body = response.json()
    assert response.status_code == 200
    assert body["summary"] == {"requested": 3, "resolved": 2, "unresolved": 1}
    assert [item["id"] for item in body["resolved_drs_object"]] == [ids[0], ids[2]]
    assert body["unresolved_drs_objects"] == [{"error_code": 404, "object_ids": ["no-such-object"]}]


def test_bulk_options_lists_authorizations(drs_node: DrsNode) -> None:
    ids = [drs_node.records[CRAM].id, "missing"]
    response = httpx.request("OPTIONS", f"{drs_node.drs}/objects",
                             json={"bulk_object_ids": ids}, timeout=10)
    body = response.json()
    assert response.status_code == 200
    assert [item["drs_object_id"] for item in body["resolved_drs_object"]] == [ids[0]]
    assert body["unresolved_drs_objects"] == [{"error_code": 404, "object_ids": ["missing"]}]


def test_bulk_access_mints_every_url(drs_node: DrsNode) -> None:
    names = [BAM, BCF]
    request = {"bulk_object_access_ids": [
        {"bulk_object_id": drs_node.records[name].id, "bulk_access_ids": ["https"]}
        for name in names
    ] + [{"bulk_object_id": drs_node.records[VCF].id, "bulk_access_ids": ["ftp"]}]}
    response = httpx.post(f"{drs_node.drs}/objects/access", json=request, timeout=10)
    body = response.json()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert body["summary"] == {"requested": 3, "resolved": 2, "unresolved": 1}
    assert len(body["unresolved_drs_objects"]) == 1
    unresolved = body["unresolved_drs_objects"][0]
    assert unresolved["error_code"] == 404
    assert unresolved["object_ids"] == [drs_node.records[VCF].id]
    assert "'ftp'" in unresolved["msg"]
    for name, item in zip(names, body["resolved_drs_object_access_urls"], strict=True):
        assert item["drs_object_id"] == drs_node.records[name].id
        data = httpx.get(item["url"], timeout=30).content
        assert hashlib.sha256(data).hexdigest() == drs_node.records[name].sha256


def test_bulk_access_resolves_each_id(drs_node: DrsNode) -> None:
    record = drs_node.records[VCF]
    request = {"bulk_object_access_ids": [
        {"bulk_object_id": record.id, "bulk_access_ids": ["https", "nope"]},
    ]}

    response = httpx.post(f"{drs_node.drs}/objects/access", json=request, timeout=10)

    body = response.json()
    assert response.status_code == 200, response.text
    assert body["summary"] == {"requested": 2, "resolved": 1, "unresolved": 1}
    [minted] = body["resolved_drs_object_access_urls"]
    assert minted["drs_object_id"] == record.id
    assert minted["drs_access_id"] == "https"
    data = httpx.get(minted["url"], timeout=30).content
    assert hashlib.sha256(data).hexdigest() == record.sha256
    [unresolved] = body["unresolved_drs_objects"]
    assert unresolved["error_code"] == 404
    assert unresolved["object_ids"] == [record.id]
    assert "access_id 'nope'" in unresolved["msg"]
    assert "'https'" not in unresolved["msg"].split(";")[0]


def test_bulk_access_unknown_object(drs_node: DrsNode) -> None:
    request = {"bulk_object_access_ids": [
        {"bulk_object_id": "no-such-object", "bulk_access_ids": ["https", "nope"]},
    ]}

    response = httpx.post(f"{drs_node.drs}/objects/access", json=request, timeout=10)

    body = response.json()
    assert response.status_code == 200, response.text
    assert body["summary"] == {"requested": 2, "resolved": 0, "unresolved": 2}
    assert body["resolved_drs_object_access_urls"] == []
    assert body["unresolved_drs_objects"] == [
        {"error_code": 404, "object_ids": ["no-such-object"]}
    ]


def test_samtools_reads_through_htsget_method(drs_node: DrsNode) -> None:
    samtools = require_tool("samtools")
    url = _methods(_object(drs_node, BAM))["htsget"]["access_url"]["url"]
    received = subprocess.run([samtools, "view", url], capture_output=True, text=True,
                              timeout=120, check=True)
    expected = subprocess.run([samtools, "view", str(shared_file(BAM))], capture_output=True,
                              text=True, timeout=120, check=True)
    assert len(expected.stdout) > 0
    assert received.stdout == expected.stdout
