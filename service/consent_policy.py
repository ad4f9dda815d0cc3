"""The consent chain access policy: check consent, record the decision on chain, then respond.

For an object in a registered dataset, every request produces exactly one
`access_decision` transaction, allow or deny, also when the credentials are
invalid. The transaction is durable before `decide` returns, and if it
cannot be written the request fails with ServiceUnavailable (503), so no
ticket or URL leaves without its record. Objects in no registered dataset go
to the node's other policy, or are denied when `chain.deny_unregistered` is set.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from consent_chain.errors import ChainError
from consent_chain.policy import DatasetConsent, Evidence, Verdict, VisaClaim, evaluate
from consent_chain.replication import ChainHalted
from service.access import AccessDecision, AccessPolicy, AccessRequest
from service.auth.clearinghouse import missing_credentials_message
from service.auth.models import AcceptedVisa, Identity, VisaType
from service.auth.policy import REGISTERED_ACCESS, rejection_summary
from service.config import Settings
from service.consent_header import note_decision
from service.consent_services import ConsentServices, ensure_sample_dataset, open_consent_services
from service.errors import InvalidAuthentication, PermissionDenied, ServiceUnavailable

logger = logging.getLogger(__name__)

CHAIN_ENDPOINTS = {
    "htsget/reads": "htsget/reads",
    "htsget/variants": "htsget/variants",
    "drs/object": "drs/objects",
    "drs/objects": "drs/objects",
    "drs/access": "drs/access",
}
MAX_TEXT = 256


def open_consent_policy(
    settings: Settings, inner: AccessPolicy
) -> tuple[ConsentServices | None, AccessPolicy]:
    """Open the chain and wrap `inner` in the chain policy; return `inner` when disabled.

    `inner` decides objects outside registered datasets. Its `verifier`, when it
    has one (the passport policy), checks credentials for the chain policy too.
    """
    config = settings.chain
    if not config.enabled:
        return None, inner
    consent = open_consent_services(settings)
    if config.register_sample_dataset:
        ensure_sample_dataset(consent, settings)
    verifier: IdentityVerifier | None = getattr(inner, "verifier", None)
    policy = ChainAccessPolicy(consent, inner, verifier, config.deny_unregistered,
                               leeway_seconds=settings.auth.trust.leeway_seconds)
    return consent, policy


class IdentityVerifier(Protocol):
    """Verifies one bearer credential (a passport, or an access token) into an Identity."""

    def verify(self, token: str | None) -> Identity: ...


@dataclass(frozen=True)
class _Judgement:
    verdict: Verdict
    requester: str
    error: InvalidAuthentication | None = None
    # Summary of the judged passport's visas that failed verification. Only the 403
    # message carries it, because the chain records the verdict's reasons alone.
    rejected_visas: str = ""


class ChainAccessPolicy:
    """Decide by the dataset's consent on the chain and record every decision there.

    `verifier` None means open-access mode (`auth.mode: open`): no passport is
    checked, and only consents that Registered Access could cover are served.
    """

    def __init__(
        self,
        consent: ConsentServices,
        inner: AccessPolicy,
        verifier: IdentityVerifier | None,
        deny_unregistered: bool = False,
        clock: Callable[[], float] = time.time,
        leeway_seconds: float = 0,
    ) -> None:
        self.consent = consent
        # Visas count as unexpired for as long as passport verification accepts
        # them, so the two checks never disagree about the same visa.
        self.leeway_seconds = leeway_seconds
        self.inner = inner
        self.verifier = verifier
        self.deny_unregistered = deny_unregistered
        self.clock = clock
        self.options = replace(consent.options, open_access=verifier is None)

    def decide(self, request: AccessRequest) -> AccessDecision:
        """Check the request against the consent, record the decision, and return it."""
        dataset = self._dataset_consent(request)
        if dataset is None:
            return self._unregistered(request)
        judgement = self._judge(request, dataset)
        tx_hash = self._record(request, dataset, judgement)
        note_decision(tx_hash)
        if judgement.error is not None:
            raise judgement.error
        verdict = judgement.verdict
        reasons = verdict.reasons
        if not verdict.allowed and judgement.rejected_visas:
            reasons = (*reasons, judgement.rejected_visas)
        return AccessDecision(verdict.allowed, reasons, verdict.expires_at, tx_hash)

    def _dataset_consent(self, request: AccessRequest) -> DatasetConsent | None:
        catalog = self.consent.catalog
        try:
            self.consent.node.refresh()
            entry = catalog.dataset_for_object(request.object_id)
            if entry is None:
                return None
            record = self.consent.node.state.datasets.get(entry.dataset_id)
            if record is None:
                raise PermissionDenied(
                    f"dataset {entry.dataset_id!r} of object {request.object_id!r} is in the "
                    "consent catalog but not registered on the consent chain; register it first"
                )
            withdrawn = record.withdrawn_participants
            participants = catalog.participants_for_object(entry.dataset_id, request.object_id)
            unmapped = catalog.unrecorded_participants(entry.dataset_id, withdrawn)
        except ChainError as error:
            logger.error("consent chain unavailable request_id=%s: %s", request.request_id, error)
            raise _unavailable(error, "the consent chain is unavailable; retry later") from error
        hits = tuple(p for p in participants if p in withdrawn)
        return DatasetConsent(entry.dataset_id, entry.url, record.version, record.consent,
                              record.withdrawn, hits, unmapped)

    def _unregistered(self, request: AccessRequest) -> AccessDecision:
        if self.deny_unregistered:
            raise PermissionDenied(
                f"object {request.object_id!r} belongs to no dataset registered on the consent "
                "chain; register it with `consentry consent register`"
            )
        return self.inner.decide(request)

    def _judge(self, request: AccessRequest, dataset: DatasetConsent) -> _Judgement:
        now = self.clock()
        node = self.consent.node
        if self.verifier is None:
            verdict = evaluate(dataset, None, self.options, now)
            return _Judgement(verdict, node.requester("", ""))
        try:
            identities = self._identities(request)
        except InvalidAuthentication as error:
            verdict = Verdict(False, (_text(f"credentials rejected: {error.message}"),), (), None)
            return _Judgement(verdict, node.requester("", ""), error)
        judgements = []
        for identity in identities:
            evidence = evidence_for(identity, dataset.url, now - self.leeway_seconds)
            verdict = evaluate(dataset, evidence, self.options, now)
            if verdict.allowed:
                limits = [identity.earliest_exp, verdict.expires_at]
                expires = min(limit for limit in limits if limit is not None)
                verdict = Verdict(True, verdict.reasons, verdict.visas, expires)
            requester = node.requester(identity.issuer, identity.subject)
            judgements.append(_Judgement(verdict, requester,
                                         rejected_visas=rejection_summary(identity)))
        return next((item for item in judgements if item.verdict.allowed), judgements[0])

    def _identities(self, request: AccessRequest) -> list[Identity]:
        """Verify every credential; raise the first failure when none verifies."""
        assert self.verifier is not None
        if not request.credentials:
            raise InvalidAuthentication(missing_credentials_message(request.endpoint))
        identities, errors = [], []
        for token in request.credentials:
            try:
                identities.append(self.verifier.verify(token))
            except InvalidAuthentication as error:
                errors.append(error)
        if not identities:
            raise errors[0]
        return identities

    def _record(self, request: AccessRequest, dataset: DatasetConsent,
                judgement: _Judgement) -> str:
        """Write the decision durably and return its tx hash; fail closed with 503."""
        try:
            payload = decision_payload(request, dataset, judgement.verdict,
                                       judgement.requester, self.clock())
            inclusion = self.consent.node.submit("access_decision", payload,
                                                 self.consent.write_timeout_seconds)
        except (ChainError, TimeoutError, ValueError) as error:
            logger.error("recording access decision failed request_id=%s object=%s: %r",
                         request.request_id, request.object_id, error)
            raise _unavailable(
                error, "the consent chain could not record the access decision; retry later"
            ) from error
        tx_hash = inclusion.tx_hash.hex()
        logger.info("access %s request_id=%s object=%s dataset=%s tx=%s",
                    "allowed" if judgement.verdict.allowed else "denied", request.request_id,
                    request.object_id, dataset.dataset_id, tx_hash)
        return tx_hash


def _unavailable(error: Exception, message: str) -> ServiceUnavailable:
    """Return the 503 for a chain failure; a halted chain is named, since retrying will not help."""
    if isinstance(error, ChainHalted):
        return ServiceUnavailable(f"access decisions are suspended because {error}")
    return ServiceUnavailable(message)


def evidence_for(identity: Identity, dataset_url: str, now: float) -> Evidence:
    """Collect the visas of `identity` that the consent policy can use for one dataset."""
    grants = tuple(
        _claim(visa) for visa in identity.visas_of_type(VisaType.CONTROLLED_ACCESS_GRANTS)
        if visa.value == dataset_url and visa.exp > now
    )
    affiliations = tuple(
        _claim(visa) for visa in identity.visas_of_type(VisaType.AFFILIATION_AND_ROLE)
        if visa.exp > now
    )
    return Evidence(grants, _registered_access(identity, now), affiliations)


def _registered_access(identity: Identity, now: float) -> tuple[VisaClaim, ...]:
    """Return a linked ResearcherStatus and AcceptedTermsAndPolicies pair, or nothing."""
    def usable(visa: AcceptedVisa) -> bool:
        return visa.value == REGISTERED_ACCESS and visa.by is not None and visa.exp > now

    statuses = [v for v in identity.visas_of_type(VisaType.RESEARCHER_STATUS) if usable(v)]
    terms = [v for v in identity.visas_of_type(VisaType.ACCEPTED_TERMS_AND_POLICIES) if usable(v)]
    for status in statuses:
        for term in terms:
            if Identity.are_linked(status, term):
                return (_claim(status), _claim(term))
    return ()


def _claim(visa: AcceptedVisa) -> VisaClaim:
    return VisaClaim(visa.type, visa.value, visa.by, visa.iss, visa.visa_id, visa.exp,
                     visa.identity_group)


def decision_payload(request: AccessRequest, dataset: DatasetConsent, verdict: Verdict,
                     requester: str, now: float) -> dict[str, Any]:
    """Build the `access_decision` payload: pseudonyms and ids only, no personal data."""
    endpoint = CHAIN_ENDPOINTS.get(request.endpoint)
    if endpoint is None:
        raise ValueError(f"endpoint {request.endpoint!r} has no consent chain name")
    payload: dict[str, Any] = {
        "request_id": _text(request.request_id),
        "time": int(now * 1000),
        "endpoint": endpoint,
        "object_id": chain_object_id(request.object_id),
        "requester": requester,
        "visas": [_visa_use(visa) for visa in verdict.visas],
        "consent": {"dataset_id": dataset.dataset_id, "version": dataset.version},
        "decision": "allow" if verdict.allowed else "deny",
        "reasons": [_text(reason) for reason in verdict.reasons],
    }
    region = _region(request.regions)
    if region is not None:
        payload["region"] = region
    return payload


def _visa_use(visa: VisaClaim) -> dict[str, str]:
    use = {"type": visa.type, "issuer": _text(visa.issuer)}
    if visa.visa_id.startswith("sha256:"):
        use["sha256"] = visa.visa_id.removeprefix("sha256:")
    else:
        use["jti"] = _text(visa.visa_id)
    return use


def _region(regions: tuple[str, ...]) -> dict[str, Any] | None:
    """Return the single requested region in chain form; None for zero, several or empty ones."""
    # NOTE: the chain's payload has room for one region, so a multi-region POST is
    # recorded without regions rather than with a misleading first one.
    if len(regions) != 1:
        return None
    name, _, span = regions[0].rpartition(":")
    start_text, _, end_text = span.partition("-")
    region: dict[str, Any] = {"reference_name": _text(name)}
    if start_text:
        region["start"] = int(start_text)
    if end_text:
        region["end"] = int(end_text)
    if region.get("end") == 0 or region.get("start", -1) >= region.get("end", 2**63):
        return None
    return region


def chain_object_id(object_id: str) -> str:
    """Return the object id as recorded: itself, or `sha256:<hex>` when over 256 characters."""
    if len(object_id) <= MAX_TEXT:
        return object_id
    return "sha256:" + hashlib.sha256(object_id.encode("utf-8")).hexdigest()


def _text(value: str) -> str:
    """Cut a value to the chain's 256-character text limit."""
    return value[:MAX_TEXT] or "-"
