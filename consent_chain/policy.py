"""Consent policy: decide one request against a dataset's DUO consent and the caller's visas.

The decision is table-driven. `RULES` lists every rule with the condition
under which it denies; docs/consent-chain.md repeats the table. Every rule
runs on every request and deny overrides: one denying rule denies the
request, and all their reasons are returned. A request is allowed only when
some access basis exists (a ControlledAccessGrants visa for the dataset,
Registered Access, or open-access mode) and no rule denies.

The module is framework-free and never receives tokens. The service layer
turns a verified passport into `Evidence`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from consent_chain.duo import ID_BY_NAME, KNOWN_CODES

NRES = "DUO:0000004"
GRU = "DUO:0000042"
HMB = "DUO:0000006"
DS = "DUO:0000007"
POA = "DUO:0000011"
NPUNCU = "DUO:0000018"
TS = "DUO:0000025"
NPU = "DUO:0000045"
NCU = "DUO:0000046"

DUO_NAMES: dict[str, str] = KNOWN_CODES
DUO_BY_NAME = ID_BY_NAME

# Permissions and modifiers the service can check on its own, so Registered
# Access (or open-access mode) may cover them. Every other term restricts the
# research purpose or binds the requester to an obligation (IRB, PUB, COL,
# ...), which only a data access committee can judge.
SELF_SERVICE_PERMISSIONS = frozenset({NRES, GRU, HMB})
NONPROFIT_MODIFIERS = frozenset({NPUNCU, NPU, NCU})
CHECKED_MODIFIERS = NONPROFIT_MODIFIERS | {TS}
DAC = "dac"


@dataclass(frozen=True)
class VisaClaim:
    """An accepted Passport visa, reduced to what the policy and the chain record need."""

    type: str
    value: str
    by: str | None
    issuer: str
    visa_id: str
    exp: float
    identity_group: int


@dataclass(frozen=True)
class Evidence:
    """Visas of a verified passport that bear on one dataset.

    `grants` are unexpired ControlledAccessGrants visas whose value is the
    dataset URL. `registered_access` is a linked ResearcherStatus and
    AcceptedTermsAndPolicies pair carrying the Registered Access DOI, or empty.
    """

    grants: tuple[VisaClaim, ...] = ()
    registered_access: tuple[VisaClaim, ...] = ()
    affiliations: tuple[VisaClaim, ...] = ()


@dataclass(frozen=True)
class DatasetConsent:
    """A dataset's consent as recorded on chain, and the withdrawn participants a request hits.

    `withdrawn_participants` are those whose object prefixes match the object.
    `unmapped_withdrawals` are those the node's catalog does not record at
    all, because they withdrew through another institution's node.
    """

    dataset_id: str
    url: str
    version: int
    consent: Mapping[str, Any]
    withdrawn: bool = False
    withdrawn_participants: tuple[str, ...] = ()
    unmapped_withdrawals: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyOptions:
    """Node-wide policy choices."""

    nonprofit_organizations: frozenset[str] = frozenset()
    open_access: bool = False


@dataclass(frozen=True)
class Verdict:
    """The decision, its reasons, the visas it relied on and the earliest expiry (Unix time)."""

    allowed: bool
    reasons: tuple[str, ...]
    visas: tuple[VisaClaim, ...]
    expires_at: float | None


@dataclass(frozen=True)
class Basis:
    """Why the requester may use the dataset at all: `grant`, `registered` or `open`."""

    kind: str
    visas: tuple[VisaClaim, ...]
    ground: str


@dataclass(frozen=True)
class Case:
    """Everything one rule looks at."""

    dataset: DatasetConsent
    evidence: Evidence | None
    options: PolicyOptions
    now: float
    basis: Basis | None

    @property
    def permission(self) -> str:
        """The dataset's DUO permission term."""
        return str(self.dataset.consent["permission"])

    @property
    def modifiers(self) -> tuple[str, ...]:
        """The dataset's DUO modifier terms."""
        return tuple(self.dataset.consent.get("modifiers", ()))


@dataclass(frozen=True)
class Outcome:
    """One rule's result: deny reasons (empty to pass), allow grounds and visas used."""

    denials: tuple[str, ...] = ()
    grounds: tuple[str, ...] = ()
    visas: tuple[VisaClaim, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A named rule and the condition under which it denies."""

    name: str
    denies_when: str
    check: Callable[[Case], Outcome]


def term_names(terms: tuple[str, ...] | list[str]) -> str:
    """Return DUO terms as `IRB (DUO:0000021), ...` for messages."""
    return ", ".join(f"{DUO_NAMES.get(term, term)} ({term})" for term in terms)


def _self_service_blockers(case: Case) -> list[str]:
    """Return the terms that keep Registered Access or open access from covering the consent."""
    blockers = [] if case.permission in SELF_SERVICE_PERMISSIONS else [case.permission]
    return blockers + [term for term in case.modifiers if term not in CHECKED_MODIFIERS]


def choose_basis(case: Case) -> Basis | None:
    """Pick the strongest access basis: a DAC grant, any grant, Registered Access, open mode."""
    evidence = case.evidence
    if evidence is not None and evidence.grants:
        grant = max(evidence.grants, key=lambda visa: (visa.by == DAC, visa.exp))
        by = grant.by or "an unnamed source"
        return Basis("grant", (grant,), f"ControlledAccessGrants visa for the dataset by {by}")
    if _self_service_blockers(case):
        return None
    if evidence is not None and evidence.registered_access:
        return Basis("registered", evidence.registered_access,
                     "Registered Access visas and a consent that allows it")
    if evidence is None and case.options.open_access:
        return Basis("open", (), "open-access mode: passports are not checked on this node")
    return None


def _withdrawal(case: Case) -> Outcome:
    if case.dataset.withdrawn:
        return Outcome(denials=(f"consent for dataset {case.dataset.dataset_id} was withdrawn",))
    return Outcome()


def _participant_withdrawal(case: Case) -> Outcome:
    count = len(case.dataset.withdrawn_participants)
    if count:
        return Outcome(denials=(f"the object holds samples of {count} participant(s) who "
                                "withdrew consent",))
    return Outcome()


def _unmapped_withdrawal(case: Case) -> Outcome:
    # Without catalog rows for the pseudonym, this node cannot tell which of
    # its objects contain the participant's samples, so it denies them all.
    dataset_id = case.dataset.dataset_id
    return Outcome(denials=tuple(
        f"withdrawn participant {pseudonym} of dataset {dataset_id} is missing from this node's "
        "catalog. Map them with `consentry consent participant` (--objects PREFIX... or --none)"
        for pseudonym in case.dataset.unmapped_withdrawals
    ))


def _time_limit(case: Case) -> Outcome:
    limit = case.dataset.consent.get("time_limit") or {}
    now_ms = case.now * 1000
    start, end = limit.get("not_before"), limit.get("not_after")
    if start is not None and now_ms < start:
        return Outcome(denials=(f"consent is not in effect before {_iso(start)}",))
    if end is not None and now_ms >= end:
        return Outcome(denials=(f"consent expired at {_iso(end)}",))
    return Outcome(grounds=(f"consent in effect until {_iso(end)}",) if end is not None else ())


def _access_basis(case: Case) -> Outcome:
    if case.basis is not None:
        return Outcome(grounds=(case.basis.ground,), visas=case.basis.visas)
    message = f"no ControlledAccessGrants visa for {case.dataset.url}"
    blockers = _self_service_blockers(case)
    if blockers:
        message += f"; Registered Access does not cover {term_names(blockers)}"
    elif case.evidence is None:
        message += "; no passport was checked"
    else:
        message += " and no Registered Access visas"
    return Outcome(denials=(message,))


def _committee_review(case: Case) -> Outcome:
    review = [term for term in case.modifiers if term not in CHECKED_MODIFIERS]
    if not review:
        return Outcome()
    basis = case.basis
    if basis is not None and basis.kind == "grant" and basis.visas[0].by == DAC:
        return Outcome(grounds=(f"data access committee approved {term_names(review)}",))
    return Outcome(denials=(f"{term_names(review)} need approval by a data access committee: "
                            "a ControlledAccessGrants visa asserted by 'dac'",))


def _nonprofit(case: Case) -> Outcome:
    terms = [term for term in case.modifiers if term in NONPROFIT_MODIFIERS]
    if not terms:
        return Outcome()
    groups = {visa.identity_group for visa in case.basis.visas} if case.basis else set()
    affiliations = case.evidence.affiliations if case.evidence else ()
    for visa in affiliations:
        organization = visa.value.partition("@")[2].lower()
        linked = not groups or visa.identity_group in groups
        if linked and _listed(organization, case.options.nonprofit_organizations):
            return Outcome(grounds=(f"affiliated with non-profit organisation {organization}",),
                           visas=(visa,))
    return Outcome(denials=(f"{term_names(terms)} need an AffiliationAndRole visa of the "
                            "requester at a listed non-profit organisation",))


def _listed(organization: str, listed: frozenset[str]) -> bool:
    return any(organization == entry or organization.endswith("." + entry) for entry in listed)


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


RULES: tuple[Rule, ...] = (
    Rule("withdrawal", "the dataset's consent was withdrawn", _withdrawal),
    Rule("participant", "the object matches a withdrawn participant's object prefixes",
         _participant_withdrawal),
    Rule("unmapped_withdrawal", "a participant withdrew from the dataset and this node's "
         "catalog records neither their object prefixes nor that they have none here",
         _unmapped_withdrawal),
    Rule("time_limit", "now is before time_limit.not_before or at/after not_after", _time_limit),
    Rule("access_basis", "no grant visa for the dataset URL, and Registered Access or "
         "open-access mode does not apply", _access_basis),
    Rule("committee_review", "a modifier other than NPU, NCU, NPUNCU and TS is set and the "
         "basis is not a grant asserted by 'dac'", _committee_review),
    Rule("nonprofit", "NPU, NCU or NPUNCU is set and no linked AffiliationAndRole visa names "
         "a listed non-profit organisation", _nonprofit),
)


def evaluate(
    dataset: DatasetConsent, evidence: Evidence | None, options: PolicyOptions, now: float
) -> Verdict:
    """Run every rule; deny with every denial reason, else allow with the grounds."""
    case = Case(dataset, evidence, options, now, None)
    case = Case(dataset, evidence, options, now, choose_basis(case))
    outcomes = [rule.check(case) for rule in RULES]
    denials = tuple(reason for outcome in outcomes for reason in outcome.denials)
    visas = tuple(dict.fromkeys(visa for outcome in outcomes for visa in outcome.visas))
    if denials:
        return Verdict(False, denials, visas, None)
    grounds = tuple(reason for outcome in outcomes for reason in outcome.grounds)
    expiries = [visa.exp for visa in visas]
    end = (dataset.consent.get("time_limit") or {}).get("not_after")
    if end is not None:
        expiries.append(end / 1000)
    return Verdict(True, grounds, visas, min(expiries) if expiries else None)
