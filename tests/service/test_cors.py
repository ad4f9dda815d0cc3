"""CORS as htsget asks: echo the Origin, accept preflights, expose the range headers."""

from __future__ import annotations

import httpx

from tests.service.conftest import Node

ORIGIN = "https://igv.example.org"


def test_preflight_echoes_origin_and_headers(local_node: Node) -> None:
    response = httpx.options(
        f"{local_node.url}/reads/htsnexus_test_NA12878",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization, range"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "range" in response.headers["access-control-allow-headers"].lower()
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["access-control-max-age"] == str(30 * 24 * 3600)


def test_ticket_and_data_responses_carry_cors_headers(local_node: Node) -> None:
    ticket = httpx.get(f"{local_node.url}/reads/htsnexus_test_NA12878?referenceName=20",
                       headers={"Origin": ORIGIN}, timeout=10)
    entry = next(url for url in ticket.json()["htsget"]["urls"] if url["url"].startswith("http"))
    data = httpx.get(entry["url"], headers={**entry["headers"], "Origin": ORIGIN}, timeout=10)

    assert ticket.headers["access-control-allow-origin"] == ORIGIN
    assert data.status_code == 206
    assert data.headers["access-control-allow-origin"] == ORIGIN
    assert "content-range" in data.headers["access-control-expose-headers"].lower()


def test_errors_carry_cors_headers(local_node: Node) -> None:
    response = httpx.get(f"{local_node.url}/reads/missing", headers={"Origin": ORIGIN}, timeout=10)

    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == ORIGIN
