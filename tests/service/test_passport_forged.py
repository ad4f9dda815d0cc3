"""The forged-token corpus of the passport core, sent to a passport-mode node over HTTP.

Broken credentials must get 401 InvalidAuthentication, valid passports whose visas do
not grant the object 403 PermissionDenied, and no response may echo token text.
"""

from __future__ import annotations

import httpx
import pytest

from tests.service.auth.conftest import Minter
from tests.service.auth.test_forged_tokens import PASSPORT_CASES, VISA_CASES
from tests.service.conftest import Node

BAM_ID = "htsnexus_test_NA12878"
# An empty token is sent as no Authorization header, because httpx rejects "Bearer ".
HTTP_MESSAGES = {"empty token": "passport is required"}

EXPECTED = {
    **{name: (case, 401, "InvalidAuthentication") for name, case in PASSPORT_CASES.items()},
    **{name: (case, 403, "PermissionDenied") for name, case in VISA_CASES.items()},
}


def _ticket(node: Node, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{node.url}/reads/{BAM_ID}", timeout=30, headers=headers)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_forged_token_over_http(name: str, passport_node: Node, issuer_minter: Minter) -> None:
    case, status, error = EXPECTED[name]
    token = case.build(issuer_minter)

    response = _ticket(passport_node, token)

    body = response.json()["htsget"]
    assert response.status_code == status, body
    assert body["error"] == error
    assert HTTP_MESSAGES.get(name, case.message) in body["message"]
    for segment in token.split("."):
        assert len(segment) < 16 or segment not in response.text


def test_attacker_jwks_never_fetched(passport_node: Node, issuer_minter: Minter) -> None:
    for name in ("jku spoofing", "visa jku spoofing"):
        _ticket(passport_node, EXPECTED[name][0].build(issuer_minter))

    assert "/attacker-jwks" not in issuer_minter.server.hits
