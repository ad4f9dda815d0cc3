"""DRS requests on a node in passport mode: the passport in a POST body or bearer header decides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.auth.broker import BrokerSubject
from service.auth.node import NodeBroker
from tests.service.drs.conftest import BAM_NAME, DrsNode, drs_settings, run_drs_node

DATASET_PATH = "/datasets/cohort1"


@pytest.fixture(scope="module")
def passport_node(
    ingest_sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DrsNode]:
    """A local DRS node that requires a passport granting dataset cohort1."""
    storage = {"backend": "local", "local_root": tmp_path_factory.mktemp("passport-objects")}
    auth = {"mode": "passport", "embedded_broker": True,
            "datasets": [{"id_prefix": "cohort1/", "url": "{base_url}" + DATASET_PATH}]}
    settings = drs_settings(tmp_path_factory.mktemp("passport-state"), storage, auth=auth)
    yield from run_drs_node(settings, "local", ingest_sources)


def _passport(node: DrsNode, grants: tuple[str, ...]) -> str:
    broker = NodeBroker.from_settings(node.settings)
    return broker.issue_passport(BrokerSubject("alice", grants=grants), 600)


@pytest.fixture(scope="module")
def granted(passport_node: DrsNode) -> str:
    return _passport(passport_node, (passport_node.url + DATASET_PATH,))


@pytest.fixture(scope="module")
def other_dataset(passport_node: DrsNode) -> str:
    return _passport(passport_node, (passport_node.url + "/datasets/other",))


def _object_url(node: DrsNode) -> str:
    return f"{node.drs}/objects/{node.records[BAM_NAME].id}"


def test_post_object_with_passport_allowed(passport_node: DrsNode, granted: str) -> None:
    response = httpx.post(_object_url(passport_node), json={"passports": [granted]}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == passport_node.records[BAM_NAME].id


def test_bearer_passport_allowed(passport_node: DrsNode, granted: str) -> None:
    response = httpx.get(f"{_object_url(passport_node)}/access/https",
                         headers={"Authorization": f"Bearer {granted}"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith(passport_node.url)


def test_post_access_with_passport_allowed(passport_node: DrsNode, granted: str) -> None:
    response = httpx.post(f"{_object_url(passport_node)}/access/https",
                          json={"passports": [granted]}, timeout=10)
    assert response.status_code == 200, response.text


def test_other_dataset_denied(passport_node: DrsNode, other_dataset: str) -> None:
    response = httpx.post(_object_url(passport_node), json={"passports": [other_dataset]},
                          timeout=10)
    assert response.status_code == 403, response.text
    assert response.json()["status_code"] == 403


def test_no_passport_rejected(passport_node: DrsNode) -> None:
    response = httpx.get(_object_url(passport_node), timeout=10)
    assert response.status_code in (401, 403), response.text
    assert response.json()["status_code"] == response.status_code


def test_forged_passport_rejected(passport_node: DrsNode, granted: str) -> None:
    header, payload, signature = granted.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    response = httpx.post(_object_url(passport_node), json={"passports": [forged]}, timeout=10)
    assert response.status_code == 401, response.text


def test_options_lists_broker_issuer(passport_node: DrsNode) -> None:
    body = httpx.options(_object_url(passport_node), timeout=10).json()
    assert body["passport_auth_issuers"] == [passport_node.url + "/broker"]


def test_bulk_denies_objects_outside_grant(passport_node: DrsNode, other_dataset: str) -> None:
    ids = [passport_node.records[BAM_NAME].id]
    response = httpx.post(f"{passport_node.drs}/objects",
                          json={"bulk_object_ids": ids, "passports": [other_dataset]}, timeout=10)
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["unresolved_drs_objects"] == [{"error_code": 403, "object_ids": ids}]


def test_bulk_allows_with_one_passport(passport_node: DrsNode, granted: str) -> None:
    ids = [record.id for record in passport_node.records.values()]
    response = httpx.post(f"{passport_node.drs}/objects",
                          json={"bulk_object_ids": ids, "passports": [granted]}, timeout=10)
    assert response.json()["summary"] == {"requested": len(ids), "resolved": len(ids),
                                          "unresolved": 0}
