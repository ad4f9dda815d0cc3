"""The framework-free DRS 1.5 operations that the HTTP handlers call.

Every object and access request goes through `enforce` with the caller's
bearer token and passports. A bulk request carries one credential set for
all of its objects. Objects it does not cover are reported as unresolved,
with the status code a single request would have returned.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.storage.base import Storage
from service.access import (
    AccessDecision,
    AccessPolicy,
    AccessRequest,
    bearer_credentials,
    enforce,
)
from service.drs.bulk import BulkResponse
from service.drs.objects import (
    ACCESS_IDS,
    NodeAddress,
    authorizations,
    drs_object,
    policy_object_id,
)
from service.drs.registry import DrsRecord, DrsRegistry
from service.errors import (
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
)
from service.http_errors import status_for

logger = logging.getLogger(__name__)

SERVICE_VERSION = "0.1.0"
DRS_VERSION = "1.5.0"


@dataclass(frozen=True)
class DrsCaller:
    """The sender of a request: the raw Authorization header and any passports from the body."""

    request_id: str
    authorization: str | None = None
    passports: tuple[str, ...] = ()

    def credentials(self) -> tuple[str, ...]:
        """Return the bearer token (if any) followed by the passports."""
        return (*bearer_credentials(self.authorization), *self.passports)


@dataclass(frozen=True)
class DrsLimits:
    """Lifetime of minted access URLs in seconds, and the largest bulk request in objects."""

    url_ttl_seconds: int
    max_bulk_request_length: int


class DrsService:
    """Serve DRS object, access and bulk requests from the registry and the storage backend."""

    def __init__(
        self,
        registry: DrsRegistry,
        storage: Storage,
        policy: AccessPolicy,
        address: NodeAddress,
        limits: DrsLimits,
        passport_issuers: tuple[str, ...] = (),
    ) -> None:
        self.registry = registry
        self.storage = storage
        self.policy = policy
        self.address = address
        self.limits = limits
        self.passport_issuers = passport_issuers

    def get_object(self, object_id: str, caller: DrsCaller) -> dict[str, Any]:
        """Return the DrsObject `object_id` if the caller may read it."""
        record = self._record(object_id)
        self._decide("drs/object", record, caller)
        return drs_object(record, self.address)

    def options_object(self, object_id: str) -> dict[str, Any]:
        """Return how a caller may authorize for `object_id`; needs no credentials."""
        record = self._record(object_id)
        return authorizations(record.id, self.passport_issuers)

    def access_url(self, object_id: str, access_id: str, caller: DrsCaller) -> dict[str, Any]:
        """Mint a signed URL for the whole object; it expires no later than the decision."""
        record = self._record(object_id)
        _check_access_id(record.id, access_id)
        decision = self._decide("drs/access", record, caller)
        return self._mint(record, decision)

    def bulk_objects(self, object_ids: Sequence[str], caller: DrsCaller) -> dict[str, Any]:
        """Return the DrsObjects of `object_ids`, listing the others as unresolved."""
        self._check_bulk(object_ids)
        credentials = caller.credentials()
        found = self.registry.get_many(object_ids)
        response = BulkResponse("resolved_drs_object")
        for object_id in object_ids:
            record = found.get(object_id)
            outcome = self._bulk_decision(record, object_id, "drs/object", caller, credentials)
            if isinstance(outcome, int):
                response.add_unresolved(outcome, object_id)
            else:
                assert record is not None
                response.resolved.append(drs_object(record, self.address))
        return response.body()

    def bulk_options(self, object_ids: Sequence[str]) -> dict[str, Any]:
        """Return the Authorizations of `object_ids`, listing unknown ids as unresolved."""
        self._check_bulk(object_ids)
        found = self.registry.get_many(object_ids)
        response = BulkResponse("resolved_drs_object")
        for object_id in object_ids:
            if object_id in found:
                response.resolved.append(authorizations(object_id, self.passport_issuers))
            else:
                response.add_unresolved(404, object_id)
        return response.body()

    def bulk_access(
        self, requested: Sequence[tuple[str, Sequence[str]]], caller: DrsCaller
    ) -> dict[str, Any]:
        """Mint access URLs for `(object_id, access_ids)` pairs, resolving each access id alone.

        An object's known access ids get URLs even when others are unknown.
        The summary counts access ids, not objects, so `requested` stays
        `resolved` plus `unresolved` when an object resolves in part.

        DRS 1.5 reports unresolved items by object id only, in
        `{error_code, object_ids}` entries with no field for an access id. The
        unknown access ids of an object therefore get a 404 entry of their own
        for that object, whose extra `msg` property names them.
        """
        self._check_bulk([object_id for object_id, _ in requested])
        credentials = caller.credentials()
        found = self.registry.get_many(object_id for object_id, _ in requested)
        response = BulkResponse("resolved_drs_object_access_urls")
        for object_id, access_ids in requested:
            _check_unique(access_ids, f"access ids of object {object_id!r}")
            record = found.get(object_id)
            if record is None:
                response.add_unresolved(404, object_id, len(access_ids))
                continue
            unknown = [access_id for access_id in access_ids if access_id not in ACCESS_IDS]
            if unknown:
                message = _unknown_access_ids_message(object_id, unknown)
                logger.info("request_id=%s bulk drs/access: %s", caller.request_id, message)
                response.add_unresolved_message(404, object_id, message, len(unknown))
            known = [access_id for access_id in access_ids if access_id in ACCESS_IDS]
            if known:
                self._bulk_access_urls(record, known, caller, credentials, response)
        return response.body()

    def _bulk_access_urls(
        self, record: DrsRecord, access_ids: Sequence[str], caller: DrsCaller,
        credentials: tuple[str, ...], response: BulkResponse,
    ) -> None:
        """Decide once for `record`, then mint one URL per access id under that decision."""
        outcome = self._bulk_decision(record, record.id, "drs/access", caller, credentials)
        if isinstance(outcome, int):
            response.add_unresolved(outcome, record.id, len(access_ids))
            return
        for access_id in access_ids:
            url = self._mint(record, outcome)
            item = {"drs_object_id": record.id, "drs_access_id": access_id, **url}
            response.resolved.append(item)

    def service_info(self) -> dict[str, Any]:
        """Return GA4GH service-info with the DRS 1.5 extension and registry totals."""
        count, total_size = self.registry.totals()
        limit = self.limits.max_bulk_request_length
        return {
            "id": "org.consentry.drs",
            "name": "Consentry DRS",
            "type": {"group": "org.ga4gh", "artifact": "drs", "version": DRS_VERSION},
            "description": "Resolves DRS ids of ingested genomic files to signed access URLs.",
            "organization": {"name": "Consentry", "url": self.address.base_url},
            "version": SERVICE_VERSION,
            "maxBulkRequestLength": limit,
            "drs": {
                "maxBulkRequestLength": limit,
                "objectCount": count,
                "totalObjectSize": total_size,
            },
        }

    def _record(self, object_id: str) -> DrsRecord:
        record = self.registry.get(object_id)
        if record is None:
            raise NotFound(f"no DRS object with id {object_id!r}; check the id or its drs:// URI")
        return record

    def _decide(
        self, endpoint: str, record: DrsRecord, caller: DrsCaller,
        credentials: tuple[str, ...] | None = None,
    ) -> AccessDecision:
        found = caller.credentials() if credentials is None else credentials
        request = AccessRequest(caller.request_id, endpoint, policy_object_id(record), (), found)
        return enforce(self.policy, request)

    def _bulk_decision(
        self, record: DrsRecord | None, object_id: str, endpoint: str, caller: DrsCaller,
        credentials: tuple[str, ...],
    ) -> AccessDecision | int:
        """Return the access decision, or the status a single request would fail with.

        InvalidAuthentication is raised, not collected, because the one
        credential set is then bad for every object of the request.
        """
        if record is None:
            return 404
        try:
            return self._decide(endpoint, record, caller, credentials)
        except PermissionDenied as exc:
            logger.info("request_id=%s bulk %s: %s", caller.request_id, endpoint, exc.message)
            return status_for(exc)

    def _check_bulk(self, object_ids: Sequence[str]) -> None:
        limit = self.limits.max_bulk_request_length
        if len(object_ids) > limit:
            raise PayloadTooLarge(
                f"the bulk request names {len(object_ids)} objects; the limit is {limit} "
                "(maxBulkRequestLength in service-info), so split it into smaller requests"
            )
        if not object_ids:
            raise InvalidInput("the bulk request names no objects; give at least one id")
        _check_unique(object_ids, "object ids")

    def _mint(self, record: DrsRecord, decision: AccessDecision) -> dict[str, Any]:
        ttl = self.limits.url_ttl_seconds
        if decision.expires_at is not None:
            remaining = math.floor(decision.expires_at - time.time())
            if remaining < 1:
                raise PermissionDenied(
                    f"the credentials for {record.id!r} expire now; request a new passport"
                )
            ttl = min(ttl, remaining)
        url = self.storage.object_url(record.storage_key, record.size, ttl)
        return {"url": url, "headers": []}


def _check_access_id(object_id: str, access_id: str) -> None:
    if access_id not in ACCESS_IDS:
        raise NotFound(_unknown_access_ids_message(object_id, [access_id]))


def _unknown_access_ids_message(object_id: str, access_ids: Sequence[str]) -> str:
    named = ", ".join(repr(access_id) for access_id in access_ids)
    plural = "s" if len(access_ids) > 1 else ""
    return (
        f"object {object_id!r} has no access method with access_id{plural} {named}; "
        f"use one of {', '.join(ACCESS_IDS)}"
    )


def _check_unique(values: Sequence[str], what: str) -> None:
    repeated = sorted(value for value, count in Counter(values).items() if count > 1)
    if repeated:
        raise InvalidInput(f"the bulk request repeats {what} {', '.join(repeated)}; list each once")
