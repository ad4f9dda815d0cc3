"""Consent changes: register a dataset, update its consent, withdraw it or one participant.

A participant withdrawal names only a pseudonym, so a node that serves its
own copy of another custodian's dataset maps that pseudonym onto its objects
with `map_withdrawn_participant`; until then, the policy denies the dataset.

Each change is one transaction signed by the local institution plus the
matching off-chain catalog rows. The catalog change is checked first, so a
taken prefix stops the command before the chain records anything, and then
written after the chain transaction: the reverse order could map objects to
a dataset the chain does not know.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from consent_chain.catalog import CatalogError, ConsentCatalog
from consent_chain.duo import MODIFIERS, PERMISSIONS
from consent_chain.errors import InvalidTransaction
from consent_chain.ledger import Inclusion
from consent_chain.models import Consent
from consent_chain.node import ChainNode
from consent_chain.policy import DUO_BY_NAME, DUO_NAMES

logger = logging.getLogger(__name__)


def duo_term(name_or_term: str) -> str:
    """Return the DUO term id for `GRU`, `npu` or `DUO:0000042`; raise ValueError if unknown."""
    if name_or_term.upper().startswith("DUO:"):
        term = name_or_term.upper()
        if term in DUO_NAMES:
            return term
    elif name_or_term.upper() in DUO_BY_NAME:
        return DUO_BY_NAME[name_or_term.upper()]
    known = ", ".join(sorted(DUO_BY_NAME))
    raise ValueError(f"unknown DUO code {name_or_term!r}; use one of {known}")


def build_consent(
    permission: str,
    *,
    modifiers: Sequence[str] = (),
    disease_ids: Sequence[str] = (),
    not_before: date | None = None,
    expires: date | None = None,
) -> dict[str, Any]:
    """Build and validate the chain's consent object from DUO names or term ids.

    `expires` is the first day (UTC) on which the consent no longer holds.
    """
    consent: dict[str, Any] = {"permission": _permission_term(permission)}
    if modifiers:
        consent["modifiers"] = [_modifier_term(modifier) for modifier in modifiers]
    if disease_ids:
        consent["disease_ids"] = list(disease_ids)
    limit = {}
    if not_before is not None:
        limit["not_before"] = _day_start_ms(not_before)
    if expires is not None:
        limit["not_after"] = _day_start_ms(expires)
    if limit:
        consent["time_limit"] = limit
    try:
        Consent.model_validate(consent)
    except ValidationError as error:
        detail = error.errors()[0]
        # A model validator's message arrives as "Value error, <our message>".
        message = str(detail["ctx"]["error"]) if detail["type"] == "value_error" else detail["msg"]
        raise ValueError(f"invalid consent: {message}") from error
    return consent


def _permission_term(name_or_term: str) -> str:
    term = _known_term(name_or_term, "permission")
    if term not in PERMISSIONS:
        raise ValueError(f"{_label(term)} is a DUO modifier, not a permission; use one of "
                         f"{_labels(PERMISSIONS)} as the permission and give "
                         f"{MODIFIERS[term]} as a modifier")
    return term


def _modifier_term(name_or_term: str) -> str:
    term = _known_term(name_or_term, "modifier")
    if term not in MODIFIERS:
        raise ValueError(f"{_label(term)} is a DUO permission, not a modifier; a consent has "
                         f"one permission, and the modifiers are {_labels(MODIFIERS)}")
    return term


def _known_term(name_or_term: str, kind: str) -> str:
    try:
        return duo_term(name_or_term)
    except ValueError:
        known = PERMISSIONS if kind == "permission" else MODIFIERS
        raise ValueError(f"unknown DUO {kind} {name_or_term!r}; use one of {_labels(known)}, "
                         "by name or DUO id") from None


def _label(term: str) -> str:
    return f"{PERMISSIONS.get(term) or MODIFIERS[term]} ({term})"


def _labels(terms: dict[str, str]) -> str:
    return ", ".join(terms.values())


def register_dataset(
    node: ChainNode, catalog: ConsentCatalog, dataset_id: str, url: str,
    consent: dict[str, Any], prefixes: Sequence[str],
) -> Inclusion:
    """Register a dataset under its first consent, then record its URL and object prefixes."""
    catalog.check_dataset(dataset_id, url, prefixes)
    inclusion = node.submit("dataset_register", {"dataset_id": dataset_id, "consent": consent})
    catalog.set_dataset(dataset_id, url, prefixes)
    logger.info("registered dataset=%s tx=%s", dataset_id, inclusion.tx_hash.hex())
    return inclusion


def update_consent(
    node: ChainNode, catalog: ConsentCatalog, dataset_id: str, consent: dict[str, Any],
    url: str | None = None, prefixes: Sequence[str] = (),
) -> Inclusion:
    """Replace a dataset's consent with the next version; optionally change its catalog entry."""
    node.refresh()
    record = node.state.datasets.get(dataset_id)
    if record is None:
        raise InvalidTransaction(f"dataset {dataset_id!r} is not registered; register it first")
    if url is not None or prefixes:
        catalog.check_dataset(dataset_id, url, prefixes)
    payload = {"dataset_id": dataset_id, "version": record.version + 1, "consent": consent}
    inclusion = node.submit("consent_update", payload)
    if url is not None or prefixes:
        catalog.set_dataset(dataset_id, url, prefixes)
    logger.info("updated consent dataset=%s version=%d", dataset_id, record.version + 1)
    return inclusion


def withdraw(
    node: ChainNode, catalog: ConsentCatalog, dataset_id: str,
    participant_id: str | None = None, prefixes: Sequence[str] = (),
) -> Inclusion:
    """Withdraw consent for a whole dataset, or for one participant and their objects."""
    if participant_id is None:
        if prefixes:
            raise ValueError("object prefixes are only used with a participant withdrawal")
        return node.submit("consent_withdraw", {"dataset_id": dataset_id, "scope": "dataset"})
    if not prefixes:
        raise ValueError("a participant withdrawal needs the participant's object prefixes")
    pseudonym = node.participant(participant_id)
    # The catalog rows come first here: they only take effect once the chain
    # lists the pseudonym as withdrawn, and they must not be missing then.
    catalog.add_participant_objects(dataset_id, pseudonym, prefixes)
    payload = {"dataset_id": dataset_id, "scope": "participant", "participant": pseudonym}
    return node.submit("consent_withdraw", payload)


def map_withdrawn_participant(
    node: ChainNode, catalog: ConsentCatalog, dataset_id: str, pseudonym: str,
    prefixes: Sequence[str],
) -> None:
    """Record this node's object prefixes of a participant who withdrew from a dataset.

    Empty `prefixes` records that none of this node's objects belong to them.
    Raise CatalogError unless the chain lists the pseudonym as withdrawn.
    """
    pseudonym = pseudonym.lower()
    withdrawn = _withdrawn_participants(node, dataset_id)
    if pseudonym not in withdrawn:
        raise CatalogError(
            f"pseudonym {pseudonym!r} is not a withdrawn participant of dataset "
            f"{dataset_id!r} on the consent chain. Run `consentry consent pending --dataset "
            f"{dataset_id}` to list the ones this node has not mapped"
        )
    if prefixes:
        catalog.add_participant_objects(dataset_id, pseudonym, prefixes)
    else:
        catalog.add_participant_without_objects(dataset_id, pseudonym)
    logger.info("mapped withdrawn participant dataset=%s participant=%s prefixes=%d",
                dataset_id, pseudonym, len(prefixes))


def import_withdrawn_participants(
    node: ChainNode, catalog: ConsentCatalog, dataset_id: str,
    participants: Mapping[str, Sequence[str]],
) -> tuple[str, ...]:
    """Map the listed pseudonyms that this node has not recorded yet; return those mapped.

    `participants` is what `consentry consent participants` prints on the
    custodian's node: pseudonym to object prefixes, an empty list for a
    participant with no objects. Every pseudonym is checked against the
    chain before anything is recorded, and ones already recorded here are
    left as they are. A prefix the catalog rejects stops the import at that
    pseudonym; running it again after a fix maps the rest.
    """
    withdrawn = _withdrawn_participants(node, dataset_id)
    listed = {pseudonym.lower(): list(prefixes) for pseudonym, prefixes in participants.items()}
    unknown = sorted(set(listed) - set(withdrawn))
    if unknown:
        raise CatalogError(
            f"pseudonym {unknown[0]!r} is not a withdrawn participant of dataset "
            f"{dataset_id!r} on the consent chain; check that the file is for this dataset"
        )
    todo = catalog.unrecorded_participants(dataset_id, set(listed))
    for pseudonym in todo:
        map_withdrawn_participant(node, catalog, dataset_id, pseudonym, listed[pseudonym])
    return todo


def unmapped_withdrawals(
    node: ChainNode, catalog: ConsentCatalog, dataset_id: str
) -> tuple[str, ...]:
    """Return the withdrawn participants of a dataset that this node's catalog does not record."""
    if catalog.dataset(dataset_id) is None:
        raise CatalogError(f"dataset {dataset_id!r} is not in this node's catalog, so this "
                           "node serves none of its objects")
    return catalog.unrecorded_participants(dataset_id, _withdrawn_participants(node, dataset_id))


def _withdrawn_participants(node: ChainNode, dataset_id: str) -> set[str]:
    node.refresh()
    record = node.state.datasets.get(dataset_id)
    if record is None:
        raise CatalogError(f"dataset {dataset_id!r} is not registered on the consent chain")
    return record.withdrawn_participants


def _day_start_ms(day: date) -> int:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int(start.timestamp()) * 1000
