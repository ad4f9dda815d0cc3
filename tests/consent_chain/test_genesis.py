"""Tests for genesis documents and chain ids."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from consent_chain.canonical import canonical_bytes
from consent_chain.errors import InvalidGenesis
from consent_chain.genesis import Genesis, genesis_from_document, load_genesis
from tests.consent_chain.builders import signer_for


def test_chain_id_is_sha256_of_canonical_document(genesis: Genesis) -> None:
    expected = hashlib.sha256(canonical_bytes(genesis.document)).hexdigest()
    assert genesis.chain_id == expected


def test_load_round_trips_canonical_bytes(genesis: Genesis) -> None:
    assert load_genesis(genesis.encoded).chain_id == genesis.chain_id


def test_load_rejects_non_canonical_bytes(genesis: Genesis) -> None:
    with pytest.raises(InvalidGenesis, match="canonical"):
        load_genesis(genesis.encoded + b"\n")


def test_load_rejects_non_object() -> None:
    with pytest.raises(InvalidGenesis, match="object"):
        load_genesis(b"[]")


def _document(genesis: Genesis) -> dict[str, Any]:
    document: dict[str, Any] = load_genesis(genesis.encoded).document
    return document


def test_duplicate_member_rejected(genesis: Genesis) -> None:
    document = _document(genesis)
    document["members"].append(dict(document["members"][0], keys=[
        {"key_id": signer_for("x").key_id, "public_key": signer_for("x").public_key.hex()}
    ]))
    with pytest.raises(InvalidGenesis, match="member id twice"):
        genesis_from_document(document)


def test_shared_key_rejected(genesis: Genesis) -> None:
    document = _document(genesis)
    document["members"][1]["keys"] = document["members"][0]["keys"]
    with pytest.raises(InvalidGenesis, match="key id twice"):
        genesis_from_document(document)


def test_unknown_proposer_rejected(genesis: Genesis) -> None:
    document = _document(genesis)
    document["policy"]["block"]["proposers"] = ["nobody"]
    with pytest.raises(InvalidGenesis, match="not genesis members"):
        genesis_from_document(document)


def test_key_id_must_match_public_key(genesis: Genesis) -> None:
    document = _document(genesis)
    document["members"][0]["keys"][0]["key_id"] = "00" * 8
    with pytest.raises(InvalidGenesis, match="does not match"):
        genesis_from_document(document)


def test_unknown_transaction_type_in_policy_rejected(genesis: Genesis) -> None:
    document = _document(genesis)
    document["policy"]["submit"]["mint_tokens"] = ["hospital"]
    with pytest.raises(InvalidGenesis, match="mint_tokens"):
        genesis_from_document(document)


def test_float_in_document_rejected(genesis: Genesis) -> None:
    document = _document(genesis)
    document["time"] = 1.5
    with pytest.raises(InvalidGenesis):
        genesis_from_document(document)
