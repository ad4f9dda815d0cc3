"""Framework-free responses of the consent chain HTTP API: proofs, blocks and the audit query.

Everything returned is what the chain itself stores (signed headers, signed
transactions, pseudonyms), so no response contains personal data.
"""

from __future__ import annotations

import re
from typing import Any

from consent_chain.audit import AuditQuery
from consent_chain.blocks import decode_header
from consent_chain.canonical import decode_canonical
from consent_chain.checkpoints import prove_consistency
from consent_chain.errors import BlockNotFound, ChainError, InvalidProof
from consent_chain.merkle import root_hash
from service.consent_policy import chain_object_id
from service.consent_services import ConsentServices
from service.errors import InvalidInput, NotFound, ServiceUnavailable

HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
MAX_PAGE_SIZE = 1000


def _unavailable(error: ChainError) -> ServiceUnavailable:
    return ServiceUnavailable(f"the consent chain is unavailable; retry later ({error})")


def genesis(consent: ConsentServices) -> dict[str, Any]:
    """Return the pinned genesis document and the chain id it defines."""
    return {"chain_id": consent.node.chain_id, "genesis": consent.node.genesis.document}


def checkpoint(consent: ConsentServices) -> dict[str, Any]:
    """Return a freshly signed checkpoint of the committed log."""
    try:
        return consent.node.checkpoint().to_json()
    except ChainError as error:
        raise _unavailable(error) from error


def receipt(consent: ConsentServices, tx_hash: str) -> dict[str, Any]:
    """Return the receipt (inclusion proof under a new checkpoint) of one transaction."""
    if not HASH_PATTERN.match(tx_hash):
        raise InvalidInput(f"transaction hash {tx_hash!r} is not 64 lowercase hex digits")
    try:
        data = consent.node.receipt(bytes.fromhex(tx_hash))
    except InvalidProof as error:
        raise NotFound(f"transaction {tx_hash} is not on the consent chain") from error
    except ChainError as error:
        raise _unavailable(error) from error
    found: dict[str, Any] = decode_canonical(data)
    return found


def consistency(consent: ConsentServices, old_size: int, new_size: int) -> dict[str, Any]:
    """Return the RFC 9162 consistency proof between two log sizes, with both roots."""
    store = consent.node.store
    try:
        consent.node.refresh()
        head = store.head()
        size = 0 if head is None else head.log_size
        if not 0 <= old_size <= new_size <= size:
            raise InvalidInput(f"sizes must satisfy 0 <= first ({old_size}) <= second ({new_size}) "
                               f"<= the log size ({size})")
        leaves = store.leaf_hashes(0, new_size)
        proof = prove_consistency(store, old_size, new_size)
    except ChainError as error:
        raise _unavailable(error) from error
    return {
        "first": old_size, "second": new_size,
        "first_root": root_hash(leaves[:old_size]).hex(), "second_root": root_hash(leaves).hex(),
        "proof": [node.hex() for node in proof],
    }


def block(consent: ConsentServices, height: int) -> dict[str, Any]:
    """Return one block: its hash, sealed header and transaction envelopes."""
    try:
        stored = consent.node.store.block_at(height)
        sealed = decode_header(stored.header)
    except BlockNotFound as error:
        raise NotFound(f"the consent chain has no block at height {height}") from error
    except ChainError as error:
        raise _unavailable(error) from error
    return {
        "height": stored.height,
        "block_hash": stored.block_hash.hex(),
        "header": sealed.header,
        "signature": sealed.signature.hex(),
        "transactions": [
            {"tx_hash": tx.tx_hash.hex(), "leaf_index": tx.leaf_index,
             **decode_canonical(tx.envelope)}
            for tx in stored.transactions
        ],
    }


def audit(consent: ConsentServices, filters: dict[str, Any]) -> dict[str, Any]:
    """Return one page of access decisions matching dataset, object, participant, requester
    or the member institution that recorded them."""
    page_size = int(filters.get("page_size") or 100)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size {page_size} must be between 1 and {MAX_PAGE_SIZE}")
    after = _page_token(filters.get("page_token"))
    participant = filters.get("participant")
    object_id = filters.get("object_id")
    try:
        prefixes = (None if participant is None
                    else tuple(consent.catalog.participant_prefixes(participant)))
        consent.audit.sync(consent.node.store)
        page = consent.audit.query(AuditQuery(
            dataset_id=filters.get("dataset_id"),
            object_id=None if object_id is None else chain_object_id(object_id),
            requester=filters.get("requester"),
            member=filters.get("member"),
            object_prefixes=prefixes,
            after_leaf=after,
            limit=page_size,
        ))
    except ChainError as error:
        raise _unavailable(error) from error
    body: dict[str, Any] = {"decisions": page.decisions}
    if page.next_after is not None:
        body["next_page_token"] = str(page.next_after)
    return body


def _page_token(token: str | None) -> int:
    if token is None:
        return -1
    if not token.isdigit():
        raise InvalidInput(f"page_token {token!r} is not one this service issued")
    return int(token)
