"""Decide which verified visas to accept: conditions and LinkedIdentities across visas."""

from __future__ import annotations

from collections.abc import Sequence

from service.auth.conditions import conditions_met
from service.auth.linking import IdentityLinks
from service.auth.models import DIGEST_PREFIX, AcceptedVisa, RejectedVisa, Visa

IndexedVisa = tuple[int, Visa]


def accept_visas(
    verified: Sequence[IndexedVisa],
) -> tuple[list[AcceptedVisa], list[RejectedVisa]]:
    """Accept visas whose conditions hold, and number the groups of linked identities.

    A condition clause may only be met by a visa without conditions of its own whose
    identity is the conditioned visa's identity or linked to it by a LinkedIdentities
    visa that itself has no conditions, so evaluation never recurses.
    """
    unconditional = [visa for _, visa in verified if visa.conditions is None]
    base_links = IdentityLinks()
    base_links.add_visas(unconditional)

    passed: list[IndexedVisa] = []
    rejected: list[RejectedVisa] = []
    for index, visa in verified:
        if visa.conditions is None:
            passed.append((index, visa))
            continue
        candidates = [
            other for other in unconditional if base_links.linked(other.identity, visa.identity)
        ]
        if conditions_met(visa.conditions, candidates):
            passed.append((index, visa))
        else:
            reason = "conditions are not met by other visas of the same person"
            jti = None if visa.visa_id.startswith(DIGEST_PREFIX) else visa.visa_id
            rejected.append(RejectedVisa(index, visa.visa_id, visa.iss, reason, jti=jti))

    links = IdentityLinks()
    links.add_visas(visa for _, visa in passed)
    groups = links.group_numbers(visa.identity for _, visa in passed)
    accepted = [_accepted(visa, groups[visa.identity]) for _, visa in passed]
    return accepted, rejected


def _accepted(visa: Visa, group: int) -> AcceptedVisa:
    return AcceptedVisa(
        type=visa.type,
        value=visa.value,
        source=visa.source,
        by=visa.by,
        iss=visa.iss,
        sub=visa.sub,
        visa_id=visa.visa_id,
        exp=visa.exp,
        asserted=visa.asserted,
        identity_group=group,
    )
