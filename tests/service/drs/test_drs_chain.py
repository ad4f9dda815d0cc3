"""DRS decisions, allowed and denied, are recorded on the consent chain over both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

from service.auth.broker import BrokerSubject
from service.auth.node import NodeBroker
from service.consent_header import HEADER
from tests.service.drs.conftest import BAM_NAME, DATASET, DrsNode, drs_settings, run_drs_node
from tests.service.receipts import verified_decision
from tests.support import REPO_ROOT

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

DATASET_PATH = "/datasets/cohort1-consented"
POLICY_ID = f"{DATASET}/htsnexus_test_NA12878"


def _register_dataset(node: DrsNode, tmp_path: Path) -> None:
    """Register the node's ingested objects as a GRU dataset with `consentry consent register`."""
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump(node.settings.model_dump(mode="json")))
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "consent", "register", "--dataset", "cohort1-chain",
         "--url", node.url + DATASET_PATH, "--permission", "GRU", "--objects", f"{DATASET}/",
         "--config", str(config)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr


def _chain_node(
    backend: str, storage: dict[str, Any], sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DrsNode]:
    settings = drs_settings(tmp_path_factory.mktemp(f"chain-{backend}-state"), storage,
                            auth={"mode": "passport", "embedded_broker": True})
    for node in run_drs_node(settings, backend, sources):
        _register_dataset(node, tmp_path_factory.mktemp(f"chain-{backend}-cli"))
        yield node


@pytest.fixture(scope="module")
def chain_local_node(
    ingest_sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DrsNode]:
    storage = {"backend": "local", "local_root": tmp_path_factory.mktemp("chain-objects")}
    yield from _chain_node("local", storage, ingest_sources, tmp_path_factory)


@pytest.fixture(scope="module")
def chain_s3_node(
    ingest_sources: Path, s3_client: S3Client, moto_s3_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DrsNode]:
    bucket = "consentry-drs-chain-tests"
    s3_client.create_bucket(Bucket=bucket)
    storage = {"backend": "s3", "s3_bucket": bucket, "s3_prefix": "institution-a",
               "s3_endpoint_url": moto_s3_server, "s3_path_style": True}
    yield from _chain_node("s3", storage, ingest_sources, tmp_path_factory)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)], scope="module")
def chain_node(request: pytest.FixtureRequest) -> DrsNode:
    found: DrsNode = request.getfixturevalue(f"chain_{request.param}_node")
    return found


def _passport(node: DrsNode, grant: str) -> str:
    broker = NodeBroker.from_settings(node.settings)
    return broker.issue_passport(BrokerSubject("alice", grants=(grant,)), 600)


def _logged_decision(node: DrsNode, response: httpx.Response) -> dict[str, Any]:
    """Return the decision named by the response header, after verifying its receipt offline."""
    return verified_decision(node.url, response.headers[HEADER])


def _object_url(node: DrsNode) -> str:
    return f"{node.drs}/objects/{node.records[BAM_NAME].id}"


def test_granted_object_request_is_logged_allow(chain_node: DrsNode) -> None:
    passport = _passport(chain_node, chain_node.url + DATASET_PATH)

    response = httpx.post(_object_url(chain_node), json={"passports": [passport]}, timeout=30)

    assert response.status_code == 200, response.text
    decision = _logged_decision(chain_node, response)
    assert decision["decision"] == "allow"
    assert decision["object_id"] == POLICY_ID
    assert decision["endpoint"] == "drs/objects"


def test_granted_access_url_is_logged_allow(chain_node: DrsNode) -> None:
    passport = _passport(chain_node, chain_node.url + DATASET_PATH)

    response = httpx.get(f"{_object_url(chain_node)}/access/https", timeout=30,
                         headers={"Authorization": f"Bearer {passport}"})

    assert response.status_code == 200, response.text
    decision = _logged_decision(chain_node, response)
    assert decision["decision"] == "allow"
    assert decision["endpoint"] == "drs/access"


def test_other_grant_is_logged_deny(chain_node: DrsNode) -> None:
    passport = _passport(chain_node, chain_node.url + "/datasets/someone-else")

    response = httpx.post(_object_url(chain_node), json={"passports": [passport]}, timeout=30)

    assert response.status_code == 403, response.text
    assert response.json()["status_code"] == 403
    decision = _logged_decision(chain_node, response)
    assert decision["decision"] == "deny"
    assert decision["object_id"] == POLICY_ID


def test_peer_fetch_is_decided_and_logged_by_owner(
    chain_local_node: DrsNode, tmp_path: Path
) -> None:
    owner = chain_local_node
    passport_path = tmp_path / "passport.jwt"
    passport_path.write_text(_passport(owner, owner.url + DATASET_PATH) + "\n")
    client_config = tmp_path / "institution-a.yaml"
    client_config.write_text(yaml.safe_dump({
        "state_dir": str(tmp_path / "institution-a-state"),
        "drs": {"hostname": "institution-a.example.org",
                "peers": {"a.example.org": owner.drs}},
    }))
    record = owner.records[BAM_NAME]

    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "drs", "get", f"drs://a.example.org/{record.id}",
         "-o", str(tmp_path / "fetched.bam"), "--passport", str(passport_path),
         "--config", str(client_config)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    audit = httpx.get(f"{owner.url}/consent-chain/decisions", timeout=30,
                      params={"object_id": POLICY_ID, "page_size": 1000}).json()

    assert result.returncode == 0, result.stderr
    endpoints = [item["endpoint"] for item in audit["decisions"] if item["decision"] == "allow"]
    assert "drs/objects" in endpoints
    assert "drs/access" in endpoints


def _decisions(node: DrsNode) -> list[dict[str, Any]]:
    audit = httpx.get(f"{node.url}/consent-chain/decisions", timeout=30,
                      params={"object_id": POLICY_ID, "page_size": 1000}).json()
    found: list[dict[str, Any]] = audit["decisions"]
    return found


def test_get_object_with_bearer_is_logged_allow(chain_node: DrsNode) -> None:
    passport = _passport(chain_node, chain_node.url + DATASET_PATH)

    response = httpx.get(_object_url(chain_node), timeout=30,
                         headers={"Authorization": f"Bearer {passport}"})

    assert response.status_code == 200, response.text
    assert _logged_decision(chain_node, response)["decision"] == "allow"


def test_bulk_requests_log_one_decision_per_object(chain_node: DrsNode) -> None:
    granted = _passport(chain_node, chain_node.url + DATASET_PATH)
    other = _passport(chain_node, chain_node.url + "/datasets/someone-else")
    object_id = chain_node.records[BAM_NAME].id
    before = len(_decisions(chain_node))

    allowed = httpx.post(f"{chain_node.drs}/objects", timeout=30,
                         json={"bulk_object_ids": [object_id], "passports": [granted]})
    denied = httpx.post(f"{chain_node.drs}/objects", timeout=30,
                        json={"bulk_object_ids": [object_id], "passports": [other]})
    access = httpx.post(f"{chain_node.drs}/objects/access", timeout=30, json={
        "passports": [granted],
        "bulk_object_access_ids": [{"bulk_object_id": object_id, "bulk_access_ids": ["https"]}],
    })
    logged = _decisions(chain_node)[before:]

    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["summary"]["resolved"] == 1
    assert denied.json()["summary"]["unresolved"] == 1
    assert access.status_code == 200, access.text
    assert [(item["endpoint"], item["decision"]) for item in logged] == [
        ("drs/objects", "allow"), ("drs/objects", "deny"), ("drs/access", "allow"),
    ]


def test_bulk_unknown_access_id_logs_allow(chain_node: DrsNode) -> None:
    granted = _passport(chain_node, chain_node.url + DATASET_PATH)
    object_id = chain_node.records[BAM_NAME].id
    before = len(_decisions(chain_node))

    response = httpx.post(f"{chain_node.drs}/objects/access", timeout=30, json={
        "passports": [granted],
        "bulk_object_access_ids": [
            {"bulk_object_id": object_id, "bulk_access_ids": ["https", "nope"]},
        ],
    })
    logged = _decisions(chain_node)[before:]

    body = response.json()
    assert response.status_code == 200, response.text
    assert [item["drs_access_id"] for item in body["resolved_drs_object_access_urls"]] == ["https"]
    assert "'nope'" in body["unresolved_drs_objects"][0]["msg"]
    assert [(item["endpoint"], item["decision"]) for item in logged] == [("drs/access", "allow")]
    assert _logged_decision(chain_node, response)["decision"] == "allow"
