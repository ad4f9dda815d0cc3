"""The passport access policy: map an object to its dataset and require a visa granting it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from service.access import AccessDecision, AccessRequest
from service.auth.cache import TokenVerifier
from service.auth.errors import InvalidAuthentication, PermissionDenied
from service.auth.models import Identity, subject_hash
from service.auth.passport import PassportVerifier
from service.auth.policy import grants_access, require_access
from service.auth.userinfo import UserinfoVerifier

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetMap:
    """Object-id prefixes and the dataset URLs they belong to; the longest prefix wins."""

    prefixes: tuple[tuple[str, str], ...]

    def dataset_for(self, object_id: str) -> str | None:
        """Return the URL of the dataset that contains `object_id`, or None."""
        matches = [(prefix, url) for prefix, url in self.prefixes if object_id.startswith(prefix)]
        if not matches:
            return None
        return max(matches, key=lambda match: len(match[0]))[1]


class CredentialVerifier:
    """Verify a bearer token as a passport, or as an access token read through userinfo."""

    def __init__(self, passports: PassportVerifier, userinfo: UserinfoVerifier | None) -> None:
        self.passports = passports
        self.userinfo = userinfo

    def verify(self, token: str | None) -> Identity:
        """Return the caller's Identity; raise InvalidAuthentication when the token fails."""
        if self.userinfo is not None and self.userinfo.accepts(token):
            return self.userinfo.verify(token)
        return self.passports.verify(token)


def missing_credentials_message(endpoint: str) -> str:
    """Say how to send a passport to the API that `endpoint` belongs to."""
    if endpoint.startswith("drs/"):
        return ("a GA4GH passport is required: POST it in the `passports` list of the request "
                "body, or send the header 'Authorization: Bearer <passport>'")
    return "a GA4GH passport is required: send the header 'Authorization: Bearer <passport>'"


class PassportPolicy:
    """Allow a request when a verified passport contains a ControlledAccessGrants visa whose
    value is the URL of the dataset that contains the object."""

    def __init__(
        self,
        verifier: TokenVerifier,
        datasets: DatasetMap,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.verifier = verifier
        self.datasets = datasets
        self.clock = clock

    def decide(self, request: AccessRequest) -> AccessDecision:
        """Verify the credentials, then look for a visa that grants the object's dataset."""
        if not request.credentials:
            raise InvalidAuthentication(missing_credentials_message(request.endpoint))
        identities = self._verify_all(request.credentials)

        dataset = self.datasets.dataset_for(request.object_id)
        if dataset is None:
            reason = (f"object {request.object_id!r} belongs to no dataset that a passport can "
                      "grant; ask the data steward to add its id prefix to auth.datasets")
            self._log(request, identities[0], None, False)
            return AccessDecision(False, (reason,))

        now = self.clock()
        for identity in identities:
            if grants_access(identity, dataset, now):
                self._log(request, identity, dataset, True)
                reason = f"ControlledAccessGrants visa for {dataset}"
                return AccessDecision(True, (reason,), expires_at=identity.earliest_exp)

        self._log(request, identities[0], dataset, False)
        return AccessDecision(False, tuple(_denial(identity, dataset) for identity in identities))

    def _verify_all(self, credentials: Sequence[str]) -> list[Identity]:
        """Verify every credential; raise the first failure when none of them verifies."""
        identities: list[Identity] = []
        first_error: InvalidAuthentication | None = None
        for token in credentials:
            try:
                identities.append(self.verifier.verify(token))
            except InvalidAuthentication as exc:
                first_error = first_error or exc
        if not identities:
            assert first_error is not None
            raise first_error
        return identities

    @staticmethod
    def _log(
        request: AccessRequest, identity: Identity, dataset: str | None, allowed: bool
    ) -> None:
        logger.info(
            "access %s request_id=%s endpoint=%s object=%s dataset=%s jti=%s iss=%s sub_hash=%s",
            "allowed" if allowed else "denied",
            request.request_id,
            request.endpoint,
            request.object_id,
            dataset,
            identity.passport_id,
            identity.issuer,
            subject_hash(identity.subject),
        )


def _denial(identity: Identity, dataset: str) -> str:
    """Return the policy's explanation of why `identity` does not grant `dataset`."""
    try:
        require_access(identity, dataset)
    except PermissionDenied as exc:
        return exc.message
    return f"the ControlledAccessGrants visa for {dataset!r} expired during the check"
