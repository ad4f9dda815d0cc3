"""Collect the outcome of a DRS bulk request into the DRS 1.5 bulk response body."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BulkResponse:
    """The resolved items of one bulk request and its unresolved object ids.

    An item is an object id in object requests and an (object id, access id)
    pair in access requests. Every requested item is counted once, as
    resolved or as unresolved, so the summary's `requested` is always
    `resolved` plus `unresolved`.
    """

    key: str
    resolved: list[dict[str, Any]] = field(default_factory=list)
    by_status: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    with_message: list[dict[str, Any]] = field(default_factory=list)
    unresolved_items: int = 0

    def add_unresolved(self, status: int, object_id: str, items: int = 1) -> None:
        """List `object_id` under `status`, counting `items` unresolved items."""
        self.by_status[status].append(object_id)
        self.unresolved_items += items

    def add_unresolved_message(
        self, status: int, object_id: str, message: str, items: int
    ) -> None:
        """List `object_id` in an entry of its own that explains the failure in `msg`.

        DRS 1.5 defines an unresolved entry as `{error_code, object_ids}` and does
        not forbid other properties. `msg`, named after the field of the DRS
        Error body, is a Consentry addition that clients may ignore.
        """
        self.with_message.append({"error_code": status, "object_ids": [object_id], "msg": message})
        self.unresolved_items += items

    def body(self) -> dict[str, Any]:
        """Return the response body: summary, resolved items and unresolved entries."""
        grouped = [
            {"error_code": status, "object_ids": ids}
            for status, ids in sorted(self.by_status.items())
        ]
        return {
            "summary": {
                "requested": len(self.resolved) + self.unresolved_items,
                "resolved": len(self.resolved),
                "unresolved": self.unresolved_items,
            },
            self.key: self.resolved,
            "unresolved_drs_objects": grouped + self.with_message,
        }
