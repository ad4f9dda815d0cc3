"""Node A trusting node B's embedded broker: visas with B's `jku`, pinned keys, 403 reasons.

B is a NodeBroker in its own state folder that never serves HTTP. Its URLs name a
closed port on 127.0.0.1, so a wrong fetch fails locally instead of leaving the host.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from consent_chain.consents import build_consent, register_dataset
from service.app import build_services, create_app
from service.auth.broker import BrokerSubject
from service.auth.node import NodeBroker
from service.config import load_settings
from tests.service.conftest import ServerThread
from tests.support import free_port

BAM_ID = "htsnexus_test_NA12878"
DATASET_ID = "EGAD00000000002"
DATASET = "https://datasets.example/na12878"


@pytest.fixture
def broker_b(tmp_path: Path) -> NodeBroker:
    """Node B's embedded broker, with its first signing key."""
    return NodeBroker(f"http://127.0.0.1:{free_port()}", tmp_path / "b-broker", 3600, 3600)


@contextmanager
def node_a(served_copies: Path, state_dir: Path, broker: dict[str, Any],
           visa_issuer: dict[str, Any] | None = None) -> Iterator[str]:
    """Run node A with DATASET on its consent chain, trusting `broker` and `visa_issuer`.

    Without `visa_issuer`, the `broker` entry is trusted as visa issuer too.
    """
    port = free_port()
    trust = {"brokers": [broker], "visa_issuers": [visa_issuer or broker]}
    settings = load_settings(None, port=port, state_dir=state_dir, auth={"trust": trust},
                             storage={"backend": "local", "local_root": served_copies})
    services = build_services(settings)
    consent = services.consent
    assert consent is not None
    try:
        register_dataset(consent.node, consent.catalog, DATASET_ID, DATASET,
                         build_consent("GRU"), ["htsnexus_test_"])
        with ServerThread(create_app(settings, services), port):
            yield settings.base_url
    finally:
        consent.close()


def read_ticket(base_url: str, passport: str) -> httpx.Response:
    return httpx.get(f"{base_url}/reads/{BAM_ID}", timeout=30,
                     headers={"Authorization": f"Bearer {passport}"})


def grant_passport(broker: NodeBroker) -> tuple[str, str]:
    """Return a passport of `broker` granting DATASET, and the `jti` of its visa."""
    passport = broker.issue_passport(BrokerSubject("carol", grants=(DATASET,)), 600)
    visa = jwt.decode(passport, options={"verify_signature": False})["ga4gh_passport_v1"][0]
    return passport, jwt.decode(visa, options={"verify_signature": False})["jti"]


def pinned(broker: NodeBroker, jwks_file: Path | None = None) -> dict[str, Any]:
    """Return a trust entry for `broker` with its JWKS pinned in a file."""
    return {"iss": broker.issuer, "jwks_file": str(jwks_file or broker.keys.jwks_path)}


def test_pinned_keys_accept_visa_jku(
    served_copies: Path, tmp_path: Path, broker_b: NodeBroker
) -> None:
    passport, _ = grant_passport(broker_b)

    with node_a(served_copies, tmp_path / "a", pinned(broker_b)) as base_url:
        response = read_ticket(base_url, passport)

    assert response.status_code == 200, response.text


def test_unlisted_jku_named_in_403(
    served_copies: Path, tmp_path: Path, broker_b: NodeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    other_jwks = f"http://127.0.0.1:{free_port()}/other-jwks.json"
    visa_issuer = {"iss": broker_b.issuer, "jku_allowlist": [other_jwks]}
    passport, visa_jti = grant_passport(broker_b)
    caplog.set_level(logging.INFO, logger="service.auth.passport")

    with node_a(served_copies, tmp_path / "a", pinned(broker_b), visa_issuer) as base_url:
        response = read_ticket(base_url, passport)

    message = response.json()["htsget"]["message"]
    expected = (f"1 visa rejected: visa jti={visa_jti} from {broker_b.issuer}: "
                f"jku '{broker_b.jwks_url}' is not in the jku_allowlist of trusted issuer "
                f"'{broker_b.issuer}' in auth.trust; add it there, or pin")
    assert response.status_code == 403
    assert f"no ControlledAccessGrants visa for {DATASET}" in message
    assert expected in message
    logged = [record.getMessage() for record in caplog.records
              if "visa rejected" in record.getMessage()]
    assert len(logged) == 1
    assert f"visa_jti={visa_jti}" in logged[0]
    assert f"visa_iss={broker_b.issuer}" in logged[0]
    for segment in passport.split("."):
        assert segment not in logged[0]
        assert segment not in message


def test_unpinned_kid_names_key_in_403(
    served_copies: Path, tmp_path: Path, broker_b: NodeBroker
) -> None:
    stale = tmp_path / "b-jwks-before-rotation.json"
    stale.write_bytes(broker_b.keys.jwks_path.read_bytes())
    new_kid = broker_b.rotate_keys()
    passport, visa_jti = grant_passport(broker_b)
    visa_issuer = pinned(broker_b, stale)

    with node_a(served_copies, tmp_path / "a", pinned(broker_b), visa_issuer) as base_url:
        response = read_ticket(base_url, passport)

    message = response.json()["htsget"]["message"]
    assert response.status_code == 403
    assert f"1 visa rejected: visa jti={visa_jti} from {broker_b.issuer}" in message
    assert f"no key pinned in its jwks or jwks_file has kid '{new_kid}'" in message
