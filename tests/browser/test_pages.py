"""The /browse and /audit pages and their /static assets over HTTP, without a browser."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.handlers import pages
from tests.browser.conftest import BrowseNode, require_npm_package


def test_browse_serves_page_with_csp(open_node: BrowseNode) -> None:
    response = httpx.get(f"{open_node.url}/browse", timeout=10)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert '<script type="module" src="/static/browse.js">' in response.text


def test_browse_rejects_passport_in_query(open_node: BrowseNode) -> None:
    response = httpx.get(f"{open_node.url}/browse", params={"passport": "eyJ.x.y"}, timeout=10)

    assert response.status_code == 400
    assert "eyJ.x.y" not in response.text


def test_browse_without_igv_names_npm_command(
    open_node: BrowseNode, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pages, "IGV_SCRIPT", tmp_path / "missing" / "igv.esm.min.js")

    response = httpx.get(f"{open_node.url}/browse", timeout=10)

    assert response.status_code == 503
    assert "npm ci --prefix service/static" in response.text


def test_audit_serves_page_with_strict_csp(open_node: BrowseNode) -> None:
    response = httpx.get(f"{open_node.url}/audit", timeout=10)

    assert response.status_code == 200
    assert "connect-src 'self';" in response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert '<script type="module" src="/static/audit.js">' in response.text


@pytest.mark.parametrize("asset", ["browse.js", "headers.js", "tickets.js", "audit.js",
                                   "audit-api.js", "audit-verify.js"])
def test_static_serves_page_modules(open_node: BrowseNode, asset: str) -> None:
    response = httpx.get(f"{open_node.url}/static/{asset}", timeout=10)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_static_serves_pinned_igv(open_node: BrowseNode) -> None:
    require_npm_package(pages.IGV_SCRIPT, "npm ci --prefix service/static")

    response = httpx.get(f"{open_node.url}/static/igv.esm.min.js", timeout=10)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("asset", ["package.json", "browse.html", "pages.py", "..%2Fapp.py"])
def test_static_rejects_unlisted_names(open_node: BrowseNode, asset: str) -> None:
    response = httpx.get(f"{open_node.url}/static/{asset}", timeout=10)

    assert response.status_code == 404
    assert response.json()["htsget"]["error"] == "NotFound"
