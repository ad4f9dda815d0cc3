"""PassportPolicy: credentials required, object mapped to a dataset, visa for it required."""

from __future__ import annotations

import pytest

from service.access import AccessRequest, enforce
from service.auth import InvalidAuthentication, PermissionDenied
from service.auth.cache import VerifiedPassportCache
from service.auth.clearinghouse import CredentialVerifier, DatasetMap, PassportPolicy
from service.auth.passport import PassportVerifier
from service.auth.userinfo import UserinfoVerifier, http_userinfo
from tests.service.auth.conftest import BROKER_ISS, DATASET, JwksServer, Minter

OTHER_DATASET = "https://data.example.org/datasets/OTHER"
DATASETS = DatasetMap((("study/", DATASET), ("study/restricted/", OTHER_DATASET)))


def _request(*credentials: str, object_id: str = "study/sample1", endpoint: str = "htsget/reads"
             ) -> AccessRequest:
    return AccessRequest("request-1", endpoint, object_id, (), credentials)


@pytest.fixture
def policy(verifier: PassportVerifier, jwks_server: JwksServer) -> PassportPolicy:
    userinfo = UserinfoVerifier(
        verifier, {BROKER_ISS: http_userinfo(jwks_server.url("/userinfo"), timeout=5)}
    )
    return PassportPolicy(VerifiedPassportCache(CredentialVerifier(verifier, userinfo)), DATASETS)


def test_longest_prefix_wins() -> None:
    assert DATASETS.dataset_for("study/restricted/x") == OTHER_DATASET
    assert DATASETS.dataset_for("study/x") == DATASET
    assert DATASETS.dataset_for("elsewhere/x") is None


def test_missing_credentials_ask_for_bearer(policy: PassportPolicy) -> None:
    with pytest.raises(InvalidAuthentication) as caught:
        policy.decide(_request())

    assert "Authorization: Bearer <passport>" in caught.value.message


def test_missing_credentials_on_drs_name_body(policy: PassportPolicy) -> None:
    with pytest.raises(InvalidAuthentication) as caught:
        policy.decide(_request(endpoint="drs/access"))

    assert "`passports`" in caught.value.message


def test_granting_passport_allowed(minter: Minter, policy: PassportPolicy) -> None:
    passport = minter.passport([minter.visa(claims={"exp": minter.now + 900})])

    decision = policy.decide(_request(passport))

    assert decision.allowed
    assert decision.expires_at == minter.now + 900


def test_passport_for_other_dataset_denied(minter: Minter, policy: PassportPolicy) -> None:
    passport = minter.passport()

    with pytest.raises(PermissionDenied) as caught:
        enforce(policy, _request(passport, object_id="study/restricted/sample2"))

    assert OTHER_DATASET in caught.value.message
    assert "no accepted ControlledAccessGrants" in caught.value.message


def test_object_outside_datasets_denied(minter: Minter, policy: PassportPolicy) -> None:
    with pytest.raises(PermissionDenied) as caught:
        enforce(policy, _request(minter.passport(), object_id="loose/file"))

    assert "'loose/file' belongs to no dataset" in caught.value.message


def test_rejected_visa_reason_reported(minter: Minter, policy: PassportPolicy) -> None:
    expired = minter.visa(claims={"iat": minter.now - 7200, "exp": minter.now - 3600})

    with pytest.raises(PermissionDenied) as caught:
        enforce(policy, _request(minter.passport([expired])))

    assert "expired" in caught.value.message


def test_invalid_passport_unauthenticated(minter: Minter, policy: PassportPolicy) -> None:
    with pytest.raises(InvalidAuthentication) as caught:
        policy.decide(_request(minter.passport(header={"alg": "none"}, key=None)))

    assert "'none'" in caught.value.message


def test_one_valid_credential_suffices(minter: Minter, policy: PassportPolicy) -> None:
    decision = policy.decide(_request("garbage", minter.passport()))

    assert decision.allowed


def test_access_token_read_through_userinfo(
    minter: Minter, jwks_server: JwksServer, policy: PassportPolicy
) -> None:
    token = minter.access_token()
    jwks_server.userinfo[token] = {"sub": "alice", "ga4gh_passport_v1": [minter.visa()]}

    decision = policy.decide(_request(token))

    assert decision.allowed
    assert jwks_server.hits.count("/userinfo") == 1
