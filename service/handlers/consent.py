"""Handlers for the consent chain API: checkpoint, receipts, proofs, blocks and audit."""

from __future__ import annotations

from typing import Any

from service import consent_api
from service.consent_services import ConsentServices
from service.errors import NotFound
from service.handlers.context import services


def _consent() -> ConsentServices:
    found: ConsentServices | None = getattr(services(), "consent", None)
    if found is None:
        raise NotFound("the consent chain is disabled on this node (chain.enabled is false)")
    return found


def get_genesis() -> dict[str, Any]:
    return consent_api.genesis(_consent())


def get_checkpoint() -> dict[str, Any]:
    return consent_api.checkpoint(_consent())


def get_receipt(tx_hash: str) -> dict[str, Any]:
    return consent_api.receipt(_consent(), tx_hash)


def get_consistency(first: int, second: int) -> dict[str, Any]:
    return consent_api.consistency(_consent(), first, second)


def get_block(height: int) -> dict[str, Any]:
    return consent_api.block(_consent(), height)


def get_decisions(**params: Any) -> dict[str, Any]:
    return consent_api.audit(_consent(), params)
