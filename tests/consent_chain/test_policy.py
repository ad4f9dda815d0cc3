"""The DUO consent policy table: each rule once allowing and once denying."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from consent_chain.policy import (
    RULES,
    DatasetConsent,
    Evidence,
    PolicyOptions,
    VisaClaim,
    evaluate,
)

NOW = 1_767_225_600.0
URL = "https://data.example.org/datasets/DS1"
DAY_MS = 86_400_000
GRU, HMB, DS = "DUO:0000042", "DUO:0000006", "DUO:0000007"
NPU, IRB, PUB, COL, NMDS = (
    "DUO:0000045", "DUO:0000021", "DUO:0000019", "DUO:0000020", "DUO:0000015"
)
OPTIONS = PolicyOptions(nonprofit_organizations=frozenset({"uni.example.org"}))


def visa(kind: str, value: str, by: str | None = "dac", group: int = 0,
         exp: float = NOW + 3600) -> VisaClaim:
    return VisaClaim(kind, value, by, "https://broker.test", f"jti-{kind}-{group}", exp, group)


GRANT = visa("ControlledAccessGrants", URL)
SELF_GRANT = visa("ControlledAccessGrants", URL, by="self")
REGISTERED = (
    visa("ResearcherStatus", "https://doi.org/10.1038/s41431-018-0219-y", by="so"),
    visa("AcceptedTermsAndPolicies", "https://doi.org/10.1038/s41431-018-0219-y", by="self"),
)
NONPROFIT = visa("AffiliationAndRole", "faculty@cs.uni.example.org", by="system")
COMMERCIAL = visa("AffiliationAndRole", "faculty@pharma.example.com", by="system")


def dataset(permission: str = GRU, **consent: Any) -> DatasetConsent:
    fields: dict[str, Any] = {"permission": permission, **consent}
    return DatasetConsent("DS1", URL, 1, fields)


# (case, dataset, evidence, options, expected decision)
TABLE: list[tuple[str, DatasetConsent, Evidence | None, PolicyOptions, bool]] = [
    ("grant allows GRU", dataset(), Evidence(grants=(GRANT,)), OPTIONS, True),
    ("no visa denies GRU", dataset(), Evidence(), OPTIONS, False),
    ("withdrawn dataset denies", replace(dataset(), withdrawn=True),
     Evidence(grants=(GRANT,)), OPTIONS, False),
    ("withdrawn participant denies", replace(dataset(), withdrawn_participants=("ab" * 32,)),
     Evidence(grants=(GRANT,)), OPTIONS, False),
    ("unmapped withdrawal denies", replace(dataset(), unmapped_withdrawals=("ab" * 32,)),
     Evidence(grants=(GRANT,)), OPTIONS, False),
    ("unmapped withdrawal denies open mode", replace(dataset(), unmapped_withdrawals=("ab" * 32,)),
     None, replace(OPTIONS, open_access=True), False),
    ("consent before not_before denies",
     dataset(time_limit={"not_before": int(NOW * 1000) + DAY_MS}),
     Evidence(grants=(GRANT,)), OPTIONS, False),
    ("consent inside time limit allows",
     dataset(time_limit={"not_before": int(NOW * 1000) - DAY_MS,
                         "not_after": int(NOW * 1000) + DAY_MS}),
     Evidence(grants=(GRANT,)), OPTIONS, True),
    ("expired consent denies", dataset(time_limit={"not_after": int(NOW * 1000)}),
     Evidence(grants=(GRANT,)), OPTIONS, False),
    ("registered access allows GRU", dataset(), Evidence(registered_access=REGISTERED),
     OPTIONS, True),
    ("registered access allows HMB", dataset(HMB), Evidence(registered_access=REGISTERED),
     OPTIONS, True),
    ("registered access denies DS", dataset(DS, disease_ids=["MONDO:0005148"]),
     Evidence(registered_access=REGISTERED), OPTIONS, False),
    ("grant allows DS", dataset(DS, disease_ids=["MONDO:0005148"]),
     Evidence(grants=(GRANT,)), OPTIONS, True),
    ("registered access denies NMDS", dataset(modifiers=[NMDS]),
     Evidence(registered_access=REGISTERED), OPTIONS, False),
    ("open mode allows GRU", dataset(), None, replace(OPTIONS, open_access=True), True),
    ("open mode denies IRB", dataset(modifiers=[IRB]), None,
     replace(OPTIONS, open_access=True), False),
    ("no passport outside open mode denies", dataset(), None, OPTIONS, False),
    ("dac grant allows IRB PUB COL", dataset(modifiers=[IRB, PUB, COL]),
     Evidence(grants=(GRANT,)), OPTIONS, True),
    ("self grant denies IRB", dataset(modifiers=[IRB]),
     Evidence(grants=(SELF_GRANT,)), OPTIONS, False),
    ("registered access denies PUB", dataset(modifiers=[PUB]),
     Evidence(registered_access=REGISTERED), OPTIONS, False),
    ("nonprofit affiliation allows NPU", dataset(modifiers=[NPU]),
     Evidence(grants=(GRANT,), affiliations=(NONPROFIT,)), OPTIONS, True),
    ("commercial affiliation denies NPU", dataset(modifiers=[NPU]),
     Evidence(grants=(GRANT,), affiliations=(COMMERCIAL,)), OPTIONS, False),
    ("missing affiliation denies NPU", dataset(modifiers=[NPU]),
     Evidence(grants=(GRANT,)), OPTIONS, False),
    ("unlinked affiliation denies NPU", dataset(modifiers=[NPU]),
     Evidence(grants=(GRANT,), affiliations=(replace(NONPROFIT, identity_group=7),)),
     OPTIONS, False),
    ("registered access with nonprofit allows NPU", dataset(modifiers=[NPU]),
     Evidence(registered_access=REGISTERED, affiliations=(NONPROFIT,)), OPTIONS, True),
    ("grant for another dataset denies", dataset(), Evidence(grants=()), OPTIONS, False),
]


@pytest.mark.parametrize(("case", "consent", "evidence", "options", "allowed"), TABLE,
                         ids=[row[0] for row in TABLE])
def test_policy_table(case: str, consent: DatasetConsent, evidence: Evidence | None,
                      options: PolicyOptions, allowed: bool) -> None:
    verdict = evaluate(consent, evidence, options, NOW)
    assert verdict.allowed is allowed, f"{case}: {verdict.reasons}"


def test_deny_overrides_grant_and_lists_every_reason() -> None:
    consent = replace(dataset(modifiers=[IRB]), withdrawn=True)
    verdict = evaluate(consent, Evidence(grants=(SELF_GRANT,)), OPTIONS, NOW)
    assert verdict.allowed is False
    assert any("withdrawn" in reason for reason in verdict.reasons)
    assert any("IRB (DUO:0000021)" in reason for reason in verdict.reasons)


def test_unmapped_reason_names_pseudonym_and_command() -> None:
    pseudonyms = ("ab" * 32, "cd" * 32)
    consent = replace(dataset(), unmapped_withdrawals=pseudonyms)
    verdict = evaluate(consent, Evidence(grants=(GRANT,)), OPTIONS, NOW)
    assert verdict.allowed is False
    assert len(verdict.reasons) == 2
    for pseudonym, reason in zip(pseudonyms, verdict.reasons, strict=True):
        assert pseudonym in reason
        assert "dataset DS1" in reason
        assert "`consentry consent participant`" in reason
        assert len(reason) <= 256


def test_allow_records_visas_used() -> None:
    verdict = evaluate(dataset(modifiers=[NPU]),
                       Evidence(grants=(GRANT,), affiliations=(NONPROFIT,)), OPTIONS, NOW)
    assert verdict.visas == (GRANT, NONPROFIT)


def test_expiry_is_earliest_of_visas_and_consent() -> None:
    end_ms = int(NOW * 1000) + 60_000
    verdict = evaluate(dataset(time_limit={"not_after": end_ms}), Evidence(grants=(GRANT,)),
                       OPTIONS, NOW)
    assert verdict.expires_at == end_ms / 1000


def test_expired_grant_is_not_evidence() -> None:
    # The service filters expired grants out before building Evidence; with
    # nothing left, the basis rule denies and names the dataset URL.
    verdict = evaluate(dataset(), Evidence(), OPTIONS, NOW)
    assert URL in verdict.reasons[0]


def test_every_rule_has_a_name_and_condition() -> None:
    names = [rule.name for rule in RULES]
    assert len(set(names)) == len(names)
    assert all(rule.denies_when for rule in RULES)
