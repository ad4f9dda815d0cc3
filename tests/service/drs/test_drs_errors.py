"""Bad DRS requests get a clean 4xx with the body `{msg, status_code}` that names the value."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.access import AccessDecision, AccessRequest
from service.app import build_services, create_app
from tests.service.conftest import ServerThread
from tests.service.drs.conftest import BAM_NAME, MAX_BULK, DrsNode, drs_settings, ingest_all


def _error(response: httpx.Response, status: int, text: str) -> None:
    body = response.json()
    assert response.status_code == status, response.text
    assert body["status_code"] == status
    assert text in body["msg"]


def _bulk(node: DrsNode, ids: list[str]) -> httpx.Response:
    return httpx.post(f"{node.drs}/objects", json={"bulk_object_ids": ids}, timeout=10)


def test_unknown_object_is_404(drs_node: DrsNode) -> None:
    _error(httpx.get(f"{drs_node.drs}/objects/no-such-id", timeout=10), 404, "'no-such-id'")


def test_unknown_object_options_is_404(drs_node: DrsNode) -> None:
    _error(httpx.options(f"{drs_node.drs}/objects/missing", timeout=10), 404, "'missing'")


def test_unknown_access_id_is_404(drs_node: DrsNode) -> None:
    object_id = drs_node.records[BAM_NAME].id
    response = httpx.get(f"{drs_node.drs}/objects/{object_id}/access/gs", timeout=10)
    _error(response, 404, "'gs'")


def test_access_to_unknown_object_is_404(drs_node: DrsNode) -> None:
    response = httpx.get(f"{drs_node.drs}/objects/nothing/access/https", timeout=10)
    _error(response, 404, "'nothing'")


def test_bulk_over_limit_is_413(drs_node: DrsNode) -> None:
    ids = [f"id-{number}" for number in range(MAX_BULK + 1)]
    _error(_bulk(drs_node, ids), 413, f"limit is {MAX_BULK}")


def test_bulk_access_over_limit_is_413(drs_node: DrsNode) -> None:
    items = [{"bulk_object_id": f"id-{n}", "bulk_access_ids": ["https"]}
             for n in range(MAX_BULK + 1)]
    response = httpx.post(f"{drs_node.drs}/objects/access",
                          json={"bulk_object_access_ids": items}, timeout=10)
    _error(response, 413, f"limit is {MAX_BULK}")


def test_body_over_size_limit_is_413_in_drs_shape(drs_node: DrsNode) -> None:
    passports = ["x" * 70000]

    response = httpx.post(f"{drs_node.drs}/objects",
                          json={"bulk_object_ids": ["a"], "passports": passports}, timeout=10)

    _error(response, 413, "the limit is 65536 bytes")


def test_bulk_duplicates_are_400(drs_node: DrsNode) -> None:
    object_id = drs_node.records[BAM_NAME].id
    _error(_bulk(drs_node, [object_id, "other", object_id]), 400, object_id)


def test_bulk_duplicate_access_ids_are_400(drs_node: DrsNode) -> None:
    object_id = drs_node.records[BAM_NAME].id
    items = [{"bulk_object_id": object_id, "bulk_access_ids": ["https", "https"]}]
    response = httpx.post(f"{drs_node.drs}/objects/access",
                          json={"bulk_object_access_ids": items}, timeout=10)
    _error(response, 400, "https")


def test_empty_bulk_is_400(drs_node: DrsNode) -> None:
    _error(_bulk(drs_node, []), 400, "bulk_object_ids")


def test_bulk_without_ids_is_400(drs_node: DrsNode) -> None:
    response = httpx.post(f"{drs_node.drs}/objects", json={"ids": ["a"]}, timeout=10)
    _error(response, 400, "bulk_object_ids")


def test_passports_must_be_strings(drs_node: DrsNode) -> None:
    object_id = drs_node.records[BAM_NAME].id
    response = httpx.post(f"{drs_node.drs}/objects/{object_id}", json={"passports": [1]},
                          timeout=10)
    _error(response, 400, "1")


def test_malformed_authorization_is_401(drs_node: DrsNode) -> None:
    object_id = drs_node.records[BAM_NAME].id
    response = httpx.get(f"{drs_node.drs}/objects/{object_id}",
                         headers={"Authorization": "Basic dXNlcg=="}, timeout=10)
    _error(response, 401, "Bearer")


class ShortLivedPolicy:
    """Allow every request under a decision that expires `lifetime` seconds from now."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime

    def decide(self, request: AccessRequest) -> AccessDecision:
        return AccessDecision(True, ("test",), expires_at=time.time() + self.lifetime)


@pytest.fixture(scope="module")
def short_lived_node(
    ingest_sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DrsNode]:
    """A local DRS node whose access decisions expire after two seconds."""
    storage = {"backend": "local", "local_root": tmp_path_factory.mktemp("short-objects")}
    settings = drs_settings(tmp_path_factory.mktemp("short-state"), storage)
    records = ingest_all(settings, ingest_sources)
    services = build_services(settings)
    assert services.drs is not None
    services.drs.policy = ShortLivedPolicy(2.0)
    with ServerThread(create_app(settings, services), settings.port):
        yield DrsNode(settings.base_url, settings, "local", records)


def test_url_expires_with_decision(short_lived_node: DrsNode) -> None:
    object_id = short_lived_node.records[BAM_NAME].id
    minted = httpx.get(f"{short_lived_node.drs}/objects/{object_id}/access/https",
                       timeout=10).json()
    expires = int(httpx.URL(minted["url"]).params["expires"])
    assert expires <= time.time() + 2
    time.sleep(3)
    response = httpx.get(minted["url"], timeout=10)
    assert response.status_code == 401
    assert "expired" in response.text

