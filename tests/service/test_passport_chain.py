"""The consent chain policy's 401 message names every way to send a passport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consent_chain.consents import build_consent, register_dataset
from service.access import AccessRequest, OpenAccessPolicy
from service.auth.models import Identity
from service.config import load_settings
from service.consent_policy import ChainAccessPolicy
from service.consent_services import ConsentServices, open_consent_services
from service.errors import InvalidAuthentication

OBJECT_ID = "cohort/sample-1"


class UnusedVerifier:
    """A verifier for requests that carry no credentials, so it is never called."""

    def verify(self, token: str | None) -> Identity:
        raise AssertionError("no credential should be verified")


@pytest.fixture
def consent(tmp_path: Path) -> Iterator[ConsentServices]:
    """Consent services of a fresh chain with one GRU dataset for objects under `cohort/`."""
    services = open_consent_services(load_settings(None, state_dir=tmp_path))
    register_dataset(services.node, services.catalog, "cohort", "https://datasets.example/cohort",
                     build_consent("GRU"), ["cohort/"])
    yield services
    services.close()


@pytest.mark.parametrize("endpoint", ["drs/object", "drs/objects", "drs/access"])
def test_drs_401_names_passports_field(consent: ConsentServices, endpoint: str) -> None:
    policy = ChainAccessPolicy(consent, OpenAccessPolicy(), UnusedVerifier())

    with pytest.raises(InvalidAuthentication) as caught:
        policy.decide(AccessRequest("request-1", endpoint, OBJECT_ID))

    assert "`passports` list of the request body" in caught.value.message
    assert "'Authorization: Bearer <passport>'" in caught.value.message


def test_htsget_401_names_header_only(consent: ConsentServices) -> None:
    policy = ChainAccessPolicy(consent, OpenAccessPolicy(), UnusedVerifier())

    with pytest.raises(InvalidAuthentication) as caught:
        policy.decide(AccessRequest("request-2", "htsget/reads", OBJECT_ID))

    assert "'Authorization: Bearer <passport>'" in caught.value.message
    assert "passports" not in caught.value.message
