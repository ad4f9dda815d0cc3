"""The embedded broker over HTTP: discovery, JWKS, token exchange and userinfo round trips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from service.auth.broker import ACCESS_TOKEN_TYPE, PASSPORT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT
from tests.service.auth.conftest import DATASET
from tests.service.auth.nodes import node_config_file
from tests.service.conftest import Node
from tests.support import REPO_ROOT

BAM_ID = "htsnexus_test_NA12878"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True,
        timeout=60, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


@pytest.fixture
def access_token(passport_node: Node, tmp_path: Path) -> str:
    """An access token of the node's broker for a subject granted DATASET."""
    config = node_config_file(passport_node, tmp_path)
    result = _cli("broker", "token", "--sub", "carol", "--grant", DATASET,
                  "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _exchange(node: Node, subject_token: str, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "requested_token_type": PASSPORT_TOKEN_TYPE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        **overrides,
    }
    return httpx.post(f"{node.url}/broker/token", data=form, timeout=30)


def test_discovery_document(passport_node: Node) -> None:
    document = httpx.get(f"{passport_node.url}/broker/.well-known/openid-configuration").json()

    assert document["issuer"] == f"{passport_node.url}/broker"
    assert document["jwks_uri"] == f"{passport_node.url}/broker/.well-known/jwks.json"
    assert document["token_endpoint"] == f"{passport_node.url}/broker/token"
    assert document["userinfo_endpoint"] == f"{passport_node.url}/broker/userinfo"


def test_jwks_holds_public_keys_only(passport_node: Node) -> None:
    keys = httpx.get(f"{passport_node.url}/broker/.well-known/jwks.json").json()["keys"]

    assert keys
    assert all(key["kty"] == "EC" and "d" not in key for key in keys)


def test_exchanged_passport_opens_ticket(passport_node: Node, access_token: str) -> None:
    exchanged = _exchange(passport_node, access_token)
    body = exchanged.json()

    ticket = httpx.get(f"{passport_node.url}/reads/{BAM_ID}", timeout=30,
                       headers={"Authorization": f"Bearer {body['access_token']}"})

    assert exchanged.status_code == 200
    assert body["issued_token_type"] == PASSPORT_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert exchanged.headers["cache-control"] == "no-store"
    assert exchanged.headers["pragma"] == "no-cache"
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "vnd.ga4gh.passport+jwt"
    assert ticket.status_code == 200, ticket.text


def test_userinfo_returns_visas(passport_node: Node, access_token: str) -> None:
    response = httpx.get(f"{passport_node.url}/broker/userinfo", timeout=30,
                         headers={"Authorization": f"Bearer {access_token}"})
    claims = response.json()
    visa = jwt.decode(claims["ga4gh_passport_v1"][0], options={"verify_signature": False})

    assert response.status_code == 200
    assert claims["sub"] == "carol"
    assert visa["ga4gh_visa_v1"]["value"] == DATASET
    assert response.headers["cache-control"] == "no-store"


def test_access_token_opens_ticket(passport_node: Node, access_token: str) -> None:
    response = httpx.get(f"{passport_node.url}/reads/{BAM_ID}", timeout=30,
                         headers={"Authorization": f"Bearer {access_token}"})

    assert response.status_code == 200, response.text


def test_exchange_rejects_wrong_grant_type(passport_node: Node, access_token: str) -> None:
    response = _exchange(passport_node, access_token, grant_type="client_credentials")

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_exchange_rejects_missing_subject_token(passport_node: Node) -> None:
    response = _exchange(passport_node, "")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_exchange_rejects_forged_subject_token(passport_node: Node, access_token: str) -> None:
    forged = ".".join([*access_token.split(".")[:2], "AAAA"])

    response = _exchange(passport_node, forged)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "signature" in response.json()["error_description"]


def test_userinfo_without_token_is_401(passport_node: Node) -> None:
    response = httpx.get(f"{passport_node.url}/broker/userinfo", timeout=30)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_request"


def test_userinfo_rejects_passport(passport_node: Node, access_token: str) -> None:
    passport = _exchange(passport_node, access_token).json()["access_token"]

    response = httpx.get(f"{passport_node.url}/broker/userinfo", timeout=30,
                         headers={"Authorization": f"Bearer {passport}"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
