"""Fetch a decision's receipt from a node and verify it offline, as an auditor would."""

from __future__ import annotations

from typing import Any

import httpx

from consent_chain.canonical import canonical_bytes
from consent_chain.checkpoints import trusted_keys, verify_receipt
from consent_chain.genesis import genesis_from_document
from consent_chain.state import ChainState


def verified_decision(base_url: str, tx_hash: str) -> dict[str, Any]:
    """Return decision `tx_hash`'s payload once its receipt verifies under the genesis keys."""
    genesis_body = httpx.get(f"{base_url}/consent-chain/genesis", timeout=30).json()
    genesis = genesis_from_document(genesis_body["genesis"])
    receipt = httpx.get(f"{base_url}/consent-chain/transactions/{tx_hash}/receipt",
                        timeout=30).json()
    verified = verify_receipt(canonical_bytes(receipt), trusted_keys(ChainState(genesis)),
                              genesis.chain_id)
    payload: dict[str, Any] = verified.transaction.payload
    return payload
