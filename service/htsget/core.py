"""The framework-free htsget entry points that the HTTP handlers call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.access import AccessPolicy, AccessRequest, bearer_credentials, enforce
from service.errors import InvalidInput
from service.htsget.query import (
    Endpoint,
    Query,
    Region,
    query_from_body,
    query_from_params,
)
from service.htsget.resolver import resolve
from service.htsget.tickets import TicketService

SERVICE_VERSION = "0.1.0"


@dataclass(frozen=True)
class RequestContext:
    """Request metadata; `authorization` is the raw header value and is never logged."""

    request_id: str
    authorization: str | None = None


class HtsgetCore:
    """Check the query, make the access decision, then build the ticket."""

    def __init__(self, tickets: TicketService, policy: AccessPolicy, max_regions: int) -> None:
        self.tickets = tickets
        self.policy = policy
        self.max_regions = max_regions

    def get(
        self, endpoint: Endpoint, object_id: str, params: Mapping[str, Any], context: RequestContext
    ) -> dict[str, Any]:
        """Return the ticket for `GET /reads/{id}` or `GET /variants/{id}`."""
        query = query_from_params(endpoint, object_id, params)
        return self._answer(query, context)

    def post(
        self,
        endpoint: Endpoint,
        object_id: str,
        body: Mapping[str, Any],
        query_keys: list[str],
        context: RequestContext,
    ) -> dict[str, Any]:
        """Return the ticket for a POST; parameters must be in the body, not the query string."""
        if query_keys:
            raise InvalidInput(
                f"POST requests take their parameters in the JSON body, not the query string "
                f"(got {', '.join(sorted(query_keys))})"
            )
        query = query_from_body(endpoint, object_id, body, self.max_regions)
        return self._answer(query, context)

    def _answer(self, query: Query, context: RequestContext) -> dict[str, Any]:
        # Malformed ids and index probes are rejected before the access decision,
        # because they can never name an object.
        resolve(query.id, query.format)
        regions = tuple(_describe(region) for region in query.regions or ())
        request = AccessRequest(
            context.request_id,
            f"htsget/{query.endpoint.value}",
            query.id,
            regions,
            bearer_credentials(context.authorization),
        )
        decision = enforce(self.policy, request)
        return self.tickets.ticket(query, decision.expires_at)


def _describe(region: Region) -> str:
    start = "" if region.start is None else region.start
    end = "" if region.end is None else region.end
    return f"{region.reference_name}:{start}-{end}"


def service_info(endpoint: Endpoint | None, base_url: str) -> dict[str, Any]:
    """Return GA4GH service-info with the htsget extension for one endpoint, or both."""
    formats = endpoint.formats if endpoint else Endpoint.READS.formats + Endpoint.VARIANTS.formats
    suffix = f".{endpoint.value}" if endpoint else ""
    info: dict[str, Any] = {
        "id": f"org.consentry.htsget{suffix}",
        "name": "Consentry htsget",
        "type": {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"},
        "description": "Streams reads and variants of consented genomic datasets over htsget.",
        "organization": {"name": "Consentry", "url": base_url},
        "version": SERVICE_VERSION,
        "htsget": {
            "formats": list(formats),
            "fieldsParameterEffective": False,
            "tagsParametersEffective": False,
        },
    }
    if endpoint:
        info["htsget"]["datatype"] = endpoint.value
    return info
