"""htsget in passport mode: real samtools with a bearer passport, and the ticket endpoint's
401 and 403 responses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from service.auth.node import write_token_file
from tests.service.auth.conftest import DATASET, Minter
from tests.service.auth.nodes import node_config_file
from tests.service.conftest import Node
from tests.support import REPO_ROOT, require_tool, shared_file

BAM_ID = "htsnexus_test_NA12878"
UNGRANTED_ID = "sample1-bcbio-cancer"


def _htslib_env(passport: Path | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HTS_")}
    if passport is not None:
        env["HTS_AUTH_LOCATION"] = str(passport)
        env["HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER"] = "I understand the risks"
    return env


def _samtools_view(url: str, passport: Path | None) -> subprocess.CompletedProcess[str]:
    samtools = require_tool("samtools")
    return subprocess.run([samtools, "view", url], env=_htslib_env(passport),
                          capture_output=True, text=True, timeout=120)


def _local_records() -> str:
    samtools = require_tool("samtools")
    result = subprocess.run([samtools, "view", str(shared_file(f"{BAM_ID}.bam"))],
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def _ticket(node: Node, object_id: str, token: str | None, endpoint: str = "reads",
            ) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{node.url}/{endpoint}/{object_id}", headers=headers, timeout=30)


def test_cli_passport_reads_with_samtools(passport_node: Node, tmp_path: Path) -> None:
    config = node_config_file(passport_node, tmp_path)
    passport = tmp_path / "passport.jwt"
    issued = subprocess.run(
        [sys.executable, "-m", "service.cli", "passport", "issue", "--sub", "alice",
         "--grant", DATASET, "--expires", "30m", "--config", str(config), "-o", str(passport)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert issued.returncode == 0, issued.stderr

    result = _samtools_view(f"{passport_node.url}/reads/{BAM_ID}", passport)

    assert result.returncode == 0, result.stderr
    assert result.stdout == _local_records()
    assert passport.stat().st_mode & 0o777 == 0o600


def test_forged_issuer_passport_reads_with_samtools(
    passport_node: Node, issuer_minter: Minter, tmp_path: Path
) -> None:
    passport = tmp_path / "passport.jwt"
    write_token_file(passport, issuer_minter.passport())

    result = _samtools_view(f"{passport_node.url}/reads/{BAM_ID}", passport)

    assert result.returncode == 0, result.stderr
    assert result.stdout == _local_records()


def test_samtools_without_passport_fails(passport_node: Node) -> None:
    result = _samtools_view(f"{passport_node.url}/reads/{BAM_ID}", None)

    assert result.returncode != 0
    assert result.stdout == ""


def test_ticket_without_token_is_401(passport_node: Node) -> None:
    response = _ticket(passport_node, BAM_ID, None)

    assert response.status_code == 401
    assert response.json()["htsget"]["error"] == "InvalidAuthentication"
    assert "Authorization: Bearer <passport>" in response.json()["htsget"]["message"]


def test_passport_without_grant_is_403(passport_node: Node, issuer_minter: Minter) -> None:
    other = issuer_minter.visa(visa={"value": "https://data.example.org/datasets/OTHER"})
    passport = issuer_minter.passport([other])

    response = _ticket(passport_node, BAM_ID, passport)

    body = response.json()["htsget"]
    assert response.status_code == 403
    assert body["error"] == "PermissionDenied"
    assert f"no accepted ControlledAccessGrants visa for {DATASET!r}" in body["message"]
    for segment in passport.split(".") + other.split("."):
        assert segment not in response.text


def test_object_outside_datasets_is_403(passport_node: Node, issuer_minter: Minter) -> None:
    response = _ticket(passport_node, UNGRANTED_ID, issuer_minter.passport(), "variants")

    assert response.status_code == 403
    assert f"{UNGRANTED_ID!r} belongs to no dataset" in response.json()["htsget"]["message"]


def test_data_urls_expire_with_earliest_visa(
    passport_node: Node, issuer_minter: Minter
) -> None:
    visa_exp = issuer_minter.now + 120
    passport = issuer_minter.passport([issuer_minter.visa(claims={"exp": visa_exp})])

    response = _ticket(passport_node, BAM_ID, passport)

    urls = [entry["url"] for entry in response.json()["htsget"]["urls"]]
    expiries = [int(parse_qs(urlsplit(url).query)["expires"][0])
                for url in urls if url.startswith("http")]
    assert response.status_code == 200
    assert expiries
    assert max(expiries) <= visa_exp
    assert min(expiries) > time.time()


def test_post_ticket_with_passport(passport_node: Node, issuer_minter: Minter) -> None:
    response = httpx.post(
        f"{passport_node.url}/reads/{BAM_ID}",
        json={"format": "BAM", "regions": [{"referenceName": "11"}]},
        headers={"Authorization": f"Bearer {issuer_minter.passport()}"}, timeout=30,
    )

    assert response.status_code == 200


def test_access_token_read_through_userinfo(passport_node: Node, issuer_minter: Minter) -> None:
    token = issuer_minter.access_token()
    issuer_minter.server.userinfo[token] = {
        "sub": "alice", "ga4gh_passport_v1": [issuer_minter.visa()]
    }

    response = _ticket(passport_node, BAM_ID, token)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("header", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Token abc"])
def test_malformed_authorization_is_401(passport_node: Node, header: str) -> None:
    response = httpx.get(f"{passport_node.url}/reads/{BAM_ID}",
                         headers={"Authorization": header}, timeout=30)

    assert response.status_code == 401
    assert json.loads(response.text)["htsget"]["error"] == "InvalidAuthentication"
