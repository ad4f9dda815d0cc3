"""The index page at `/`: every link it shows resolves, and disabled parts are left out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from service.config import load_settings
from tests.service.conftest import Node, start_node
from tests.support import free_port


def links_of(page: str) -> list[str]:
    return re.findall(r"href='([^']+)'", page)


@pytest.fixture(scope="module")
def bare_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A node with the consent chain and the embedded broker turned off."""
    settings = load_settings(
        None, port=free_port(), state_dir=tmp_path_factory.mktemp("bare-state"),
        storage={"backend": "local", "local_root": tmp_path_factory.mktemp("bare-data")},
        auth={"mode": "open", "embedded_broker": False}, chain={"enabled": False},
    )
    yield from start_node(settings, "local")


def test_index_links_all_resolve(local_node: Node) -> None:
    response = httpx.get(f"{local_node.url}/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    links = links_of(response.text)
    assert "/browse" in links
    assert "/consent-chain/checkpoint" in links
    for link in links:
        target = httpx.get(f"{local_node.url}{link}", timeout=10)
        assert target.status_code in (200, 503), (link, target.status_code)


def test_index_leaves_out_disabled_parts(bare_node: Node) -> None:
    links = links_of(httpx.get(f"{bare_node.url}/", timeout=10).text)
    assert "/audit" not in links
    assert "/consent-chain/checkpoint" not in links
    assert "/broker/.well-known/openid-configuration" not in links
    assert "/reads/service-info" in links


def test_api_explorers_named_on_index_exist(local_node: Node) -> None:
    for path in ("/ui/", "/ga4gh/drs/v1/ui/"):
        response = httpx.get(f"{local_node.url}{path}", timeout=10)
        assert response.status_code == 200, path
