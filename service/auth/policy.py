"""Access decisions over a verified Identity."""

from __future__ import annotations

import time

from service.auth.errors import PermissionDenied
from service.auth.models import AcceptedVisa, Identity, VisaType

# Registered Access (Dyke et al. 2018) is named by the DOI of its defining paper.
REGISTERED_ACCESS = "https://doi.org/10.1038/s41431-018-0219-y"
# Maximum number of rejected visas that a 403 message lists one by one. The count in the
# message covers all of them.
MAX_LISTED_REJECTIONS = 3


def grants_access(identity: Identity, dataset_url: str, now: float | None = None) -> bool:
    """Return whether an accepted, unexpired ControlledAccessGrants visa names `dataset_url`.

    The match is a full, case-sensitive string comparison; URLs are opaque identifiers.
    """
    current = time.time() if now is None else now
    return any(
        visa.value == dataset_url and visa.exp > current
        for visa in identity.visas_of_type(VisaType.CONTROLLED_ACCESS_GRANTS)
    )


def require_access(identity: Identity, dataset_url: str, now: float | None = None) -> None:
    """Raise PermissionDenied unless `grants_access` holds for `dataset_url`."""
    if grants_access(identity, dataset_url, now):
        return
    message = f"passport contains no accepted ControlledAccessGrants visa for {dataset_url!r}"
    summary = rejection_summary(identity)
    if summary:
        message += f"; {summary}"
    raise PermissionDenied(message)


def rejection_summary(identity: Identity) -> str:
    """Return `N visa(s) rejected: visa jti=... from ISS: reason; ...`, or "" if none were.

    Each rejected visa is listed with the first check it failed, up to
    MAX_LISTED_REJECTIONS visas.
    """
    rejected = identity.rejected
    if not rejected:
        return ""
    noun = "visa" if len(rejected) == 1 else "visas"
    listed = "; ".join(visa.describe() for visa in rejected[:MAX_LISTED_REJECTIONS])
    more = len(rejected) - MAX_LISTED_REJECTIONS
    suffix = f"; and {more} more" if more > 0 else ""
    return f"{len(rejected)} {noun} rejected: {listed}{suffix}"


def has_registered_access(identity: Identity, now: float | None = None) -> bool:
    """Return whether ResearcherStatus and AcceptedTermsAndPolicies visas of one person
    both carry the Registered Access DOI, each with a known `by`."""
    current = time.time() if now is None else now

    def usable(visa: AcceptedVisa) -> bool:
        return visa.value == REGISTERED_ACCESS and visa.by is not None and visa.exp > current

    statuses = [v for v in identity.visas_of_type(VisaType.RESEARCHER_STATUS) if usable(v)]
    terms = [v for v in identity.visas_of_type(VisaType.ACCEPTED_TERMS_AND_POLICIES) if usable(v)]
    return any(Identity.are_linked(status, term) for status in statuses for term in terms)
