"""Every htsget error case returns the spec's error name, status and a message naming the value."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.service.conftest import Node

BAM = "/reads/htsnexus_test_NA12878"
VCF = "/variants/spec-v4.3"

GET_CASES = [
    # (path and query, status, error name, text the message must contain)
    ("/reads/no-such-sample", 404, "NotFound", "no-such-sample"),
    ("/variants/no-such-sample", 404, "NotFound", "no-such-sample"),
    ("/reads/sample1-bcbio-cancer?format=BAM", 404, "NotFound", "sample1-bcbio-cancer"),
    ("/reads/%2e%2e/etc/passwd", 400, "InvalidInput", ".."),
    ("/reads/study/%2e%2e/htsnexus_test_NA12878", 400, "InvalidInput", ".."),
    ("/reads/study/%2e/cohort/sample", 400, "InvalidInput", "'.'"),
    ("/reads/%2Fetc%2Fpasswd", 400, "InvalidInput", "/etc/passwd"),
    ("/reads/a%5Cb", 400, "InvalidInput", "backslash"),
    ("/reads/no-index?referenceName=11", 404, "NotFound", "no-index.bam.bai"),
    ("/reads/corrupt-index?referenceName=11", 404, "NotFound", "corrupt"),
    ("/reads/not-a-bam", 404, "NotFound", "not-a-bam.bam"),
    (f"{BAM}?format=SAM", 400, "UnsupportedFormat", "'SAM'"),
    (f"{BAM}?format=VCF", 400, "UnsupportedFormat", "'VCF'"),
    (f"{VCF}?format=BAM", 400, "UnsupportedFormat", "'BAM'"),
    (f"{BAM}?class=body", 400, "InvalidInput", "'body'"),
    (f"{BAM}?class=header&referenceName=11", 400, "InvalidInput", "referenceName"),
    (f"{BAM}?start=10", 400, "InvalidInput", "referenceName"),
    (f"{BAM}?end=10", 400, "InvalidInput", "referenceName"),
    (f"{BAM}?referenceName=*&start=10", 400, "InvalidInput", "'*'"),
    (f"{VCF}?referenceName=*", 400, "InvalidInput", "'*'"),
    (f"{BAM}?referenceName=11&start=20&end=10", 400, "InvalidRange", "start 20"),
    (f"{BAM}?referenceName=11&start=200000000", 400, "InvalidRange", "200000000"),
    (f"{VCF}?referenceName=20&start=70000000&end=70000010", 400, "InvalidRange", "70000000"),
    (f"{BAM}?referenceName=chr11", 404, "NotFound", "'chr11'"),
    (f"{VCF}?referenceName=chr20", 404, "NotFound", "'chr20'"),
    (f"{BAM}?referenceName=11&start=abc", 400, "InvalidInput",
     "query parameter 'start' must be an integer, got 'abc'"),
    (f"{BAM}?referenceName=11&start=-1", 400, "InvalidInput",
     "query parameter 'start' must be at least 0, got -1"),
    (f"{BAM}?referenceName=11&end=4294967296", 400, "InvalidInput",
     "query parameter 'end' must be at most 4294967295, got 4294967296"),
    (f"{BAM}?fields=QNAME,BOGUS", 400, "InvalidInput", "BOGUS"),
    (f"{BAM}?tags=MD,NM&notags=NM", 400, "InvalidInput", "NM"),
    (f"{BAM}?tags=TOOLONG", 400, "InvalidInput", "TOOLONG"),
    ("/reads/htsnexus_test_NA12878.bam.csi", 404, "NotFound", "index"),
    ("/variants/spec-v4.3.tbi", 404, "NotFound", "index"),
    ("/nothing-here", 404, "NotFound", "/nothing-here"),
]


def _error(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert list(body) == ["htsget"]
    error: dict[str, str] = body["htsget"]
    return error


@pytest.mark.parametrize(("path", "status", "name", "fragment"), GET_CASES,
                         ids=[case[0] for case in GET_CASES])
def test_get_error(node: Node, path: str, status: int, name: str, fragment: str) -> None:
    response = httpx.get(node.url + path, timeout=10)

    error = _error(response)
    assert response.status_code == status
    assert error["error"] == name
    assert fragment in error["message"]
    assert response.headers["content-type"].startswith("application/json")


POST_CASES = [
    ({"regions": []}, 400, "InvalidInput", "non-empty"),
    ({"regions": [{"start": 1}]}, 400, "InvalidInput", "referenceName"),
    ({"regions": [{"referenceName": "11", "start": 10, "end": 10}]}, 400, "InvalidRange", "10"),
    ({"regions": [{"referenceName": "11", "start": 30, "end": 10}]}, 400, "InvalidRange", "30"),
    ({"regions": [{"referenceName": "11", "begin": 1}]}, 400, "InvalidInput", "begin"),
    ({"regions": [{"referenceName": "nope"}]}, 404, "NotFound", "'nope'"),
    ({"format": "SAM"}, 400, "UnsupportedFormat", "'SAM'"),
    ({"class": "header", "regions": [{"referenceName": "11"}]}, 400, "InvalidInput", "regions"),
    ({"fields": "QNAME"}, 400, "InvalidInput", "QNAME"),
    ({"regions": [{"referenceName": "11"}] * 1001}, 400, "InvalidInput", "1001"),
]


@pytest.mark.parametrize(("body", "status", "name", "fragment"), POST_CASES,
                         ids=[str(index) for index in range(len(POST_CASES))])
def test_post_error(node: Node, body: dict, status: int, name: str, fragment: str) -> None:
    response = httpx.post(node.url + BAM, json=body, timeout=10)

    error = _error(response)
    assert response.status_code == status
    assert error["error"] == name
    assert fragment in error["message"]


def test_post_with_query_string_is_invalid_input(node: Node) -> None:
    response = httpx.post(node.url + BAM + "?referenceName=11", json={}, timeout=10)

    assert response.status_code == 400
    assert _error(response)["error"] == "InvalidInput"
    assert "referenceName" in _error(response)["message"]


def test_post_body_over_limit_is_payload_too_large(node: Node) -> None:
    regions = [{"referenceName": "11", "start": index, "end": index + 1} for index in range(4000)]

    response = httpx.post(node.url + BAM, json={"regions": regions}, timeout=10)

    assert response.status_code == 413
    assert _error(response)["error"] == "PayloadTooLarge"
    assert "65536" in _error(response)["message"]


def test_chunked_post_body_over_limit_is_payload_too_large(node: Node) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"regions": ['
        for _ in range(2000):
            yield b'{"referenceName": "11", "start": 1, "end": 2},'
        yield b'{"referenceName": "11"}]}'

    response = httpx.post(node.url + BAM, content=chunks(),
                          headers={"Content-Type": "application/json"}, timeout=10)

    assert response.status_code == 413
    assert _error(response)["error"] == "PayloadTooLarge"


def test_malformed_json_body_is_invalid_input(node: Node) -> None:
    response = httpx.post(node.url + BAM, content=b"{not json",
                          headers={"Content-Type": "application/json"}, timeout=10)

    assert response.status_code == 400
    assert _error(response)["error"] == "InvalidInput"


def _data_url(local_node: Node) -> tuple[str, dict[str, str]]:
    ticket = httpx.get(local_node.url + BAM + "?referenceName=11", timeout=10).json()
    entry = next(url for url in ticket["htsget"]["urls"]
                 if url["url"].startswith("http") and url["class"] == "body")
    return entry["url"], entry["headers"]


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_data_url_serves_exactly_the_signed_range(local_node: Node) -> None:
    url, headers = _data_url(local_node)
    first, last = (int(value) for value in headers["Range"].removeprefix("bytes=").split("-"))

    whole = httpx.get(url, headers=headers, timeout=10)
    part = httpx.get(url, headers={"Range": f"bytes={first + 10}-{first + 19}"}, timeout=10)
    unranged = httpx.get(url, timeout=10)

    assert whole.status_code == 206
    assert len(whole.content) == last - first + 1
    assert whole.headers["content-range"].startswith(f"bytes {first}-{last}/")
    assert part.status_code == 206
    assert part.content == whole.content[10:20]
    assert unranged.status_code == 200
    assert unranged.content == whole.content


@pytest.mark.parametrize("header", ["bytes=0-10", "bytes=0-", "bytes=-0", "items=1-2",
                                    "bytes=1-2,5-6"])
def test_data_range_outside_signature_is_invalid_range(local_node: Node, header: str) -> None:
    url, _ = _data_url(local_node)

    response = httpx.get(url, headers={"Range": header}, timeout=10)

    assert response.status_code == 400
    assert _error(response)["error"] == "InvalidRange"


@pytest.mark.parametrize("change", [{"end": "99999999"}, {"start": "0"}, {"expires": "1"},
                                    {"signature": "0" * 64}])
def test_tampered_data_url_is_invalid_authentication(local_node: Node, change: dict) -> None:
    url, headers = _data_url(local_node)

    response = httpx.get(_with_query(url, **change), headers=headers, timeout=10)

    assert response.status_code == 401
    assert _error(response)["error"] == "InvalidAuthentication"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_data_url_for_other_key_is_rejected(local_node: Node) -> None:
    url, headers = _data_url(local_node)
    other = url.replace("htsnexus_test_NA12878.bam", "htsnexus_test_NA12878.cram")

    response = httpx.get(other, headers=headers, timeout=10)

    assert response.status_code == 401


def test_data_url_cannot_leave_the_store(local_node: Node) -> None:
    url, headers = _data_url(local_node)
    escaped = url.replace("/data/htsnexus_test_NA12878.bam", "/data/..%2F..%2Fetc%2Fpasswd")

    response = httpx.get(escaped, headers=headers, timeout=10)

    assert response.status_code in (401, 404)
    assert b"root:" not in response.content


def test_id_with_slashes_is_served(node: Node) -> None:
    response = httpx.get(node.url + "/reads/study/cohort/sample?referenceName=20", timeout=10)

    assert response.status_code == 200
    assert response.json()["htsget"]["format"] == "BAM"
