"""The node's embedded broker: discovery, pinned keys, rotation by another process, userinfo."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.access import AccessRequest, OpenAccessPolicy
from service.auth import InvalidAuthentication, PassportTrust, PassportVerifier, grants_access
from service.auth.broker import BrokerSubject
from service.auth.clearinghouse import PassportPolicy
from service.auth.jwks import JwksCache
from service.auth.node import NodeBroker, build_node_auth, write_demo_passport
from service.config import load_settings

BASE_URL = "http://127.0.0.1:9"
DATASET = "https://data.example.org/datasets/EGAD00000000001"


@pytest.fixture
def broker(tmp_path: Path) -> NodeBroker:
    return NodeBroker(BASE_URL, tmp_path / "broker", max_lifetime=86400, exchange_lifetime=3600)


def _offline_verifier(broker: NodeBroker) -> PassportVerifier:
    """A verifier that fails the test if it ever fetches a JWKS."""

    def no_fetch(url: str, timeout: float) -> bytes:
        raise AssertionError(f"fetched {url}")

    trust = PassportTrust(brokers=(broker.trusted,), visa_issuers=(broker.trusted,))
    return PassportVerifier(trust, JwksCache(trust, fetcher=no_fetch))


def _sample_request(token: str) -> AccessRequest:
    return AccessRequest("request-1", "htsget/reads", "sample/NA00001", (), (token,))


def test_discovery_names_endpoints(broker: NodeBroker) -> None:
    document = broker.discovery()

    assert document["issuer"] == f"{BASE_URL}/broker"
    assert document["jwks_uri"] == f"{BASE_URL}/broker/.well-known/jwks.json"
    assert document["token_endpoint"] == f"{BASE_URL}/broker/token"
    assert document["userinfo_endpoint"] == f"{BASE_URL}/broker/userinfo"


def test_passport_verifies_without_fetch(broker: NodeBroker) -> None:
    token = broker.issue_passport(BrokerSubject("alice", (DATASET,)), 600)

    identity = _offline_verifier(broker).verify(token)

    assert grants_access(identity, DATASET)


def test_rotation_by_other_process_seen(broker: NodeBroker, tmp_path: Path) -> None:
    other = NodeBroker(BASE_URL, tmp_path / "broker", max_lifetime=86400, exchange_lifetime=3600)
    new_kid = other.rotate_keys()

    kids = [key["kid"] for key in broker.jwks()["keys"]]
    token = broker.issue_passport(BrokerSubject("alice", (DATASET,)), 600)

    assert kids[0] == new_kid
    assert len(kids) == 2
    assert grants_access(_offline_verifier(broker).verify(token), DATASET)


def test_userinfo_returns_registered_grants(broker: NodeBroker) -> None:
    broker.registry.put(BrokerSubject("alice", (DATASET,)))
    token = broker.issue_access_token("alice", 600)

    claims = broker.userinfo(token)

    assert claims["sub"] == "alice"
    assert len(claims["ga4gh_passport_v1"]) == 1


def test_unregistered_subject_has_no_visas(broker: NodeBroker) -> None:
    claims = broker.userinfo(broker.issue_access_token("bob", 600))

    assert claims["ga4gh_passport_v1"] == []


def test_userinfo_rejects_passport(broker: NodeBroker) -> None:
    passport = broker.issue_passport(BrokerSubject("alice", (DATASET,)), 600)

    with pytest.raises(InvalidAuthentication) as caught:
        broker.userinfo(passport)

    assert "access token rejected" in caught.value.message


def test_open_mode_builds_open_policy(tmp_path: Path) -> None:
    settings = load_settings(None, state_dir=tmp_path, auth={"mode": "open"})

    assert isinstance(build_node_auth(settings).policy, OpenAccessPolicy)


def test_node_accepts_embedded_access_token(tmp_path: Path) -> None:
    settings = load_settings(None, port=9, state_dir=tmp_path)
    auth = build_node_auth(settings)
    assert auth.broker is not None
    assert isinstance(auth.policy, PassportPolicy)
    dataset = f"{BASE_URL}/datasets/sample"
    auth.broker.registry.put(BrokerSubject("alice", (dataset,)))
    token = auth.broker.issue_access_token("alice", 600)

    decision = auth.policy.decide(_sample_request(token))

    assert decision.allowed


def test_demo_passport_private_and_granting(tmp_path: Path) -> None:
    settings = load_settings(None, port=9, state_dir=tmp_path)
    path = write_demo_passport(settings, "sample/NA00001")
    assert path is not None
    auth = build_node_auth(settings)
    token = path.read_text().strip()

    decision = auth.policy.decide(_sample_request(token))

    assert path.stat().st_mode & 0o777 == 0o600
    assert decision.allowed


def test_no_demo_passport_in_open_mode(tmp_path: Path) -> None:
    settings = load_settings(None, state_dir=tmp_path, auth={"mode": "open"})

    assert write_demo_passport(settings, "sample/NA00001") is None
