"""The genesis document: initial member registry and policy; its hash is the chain id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from consent_chain.canonical import canonical_bytes, decode_canonical, sha256
from consent_chain.crypto import key_id_for
from consent_chain.errors import CanonicalError, InvalidGenesis
from consent_chain.models import GenesisDocument


@dataclass(frozen=True)
class Genesis:
    """A validated genesis document and the chain id derived from it."""

    document: dict[str, Any]
    model: GenesisDocument
    encoded: bytes

    @property
    def chain_id(self) -> str:
        """Hex SHA-256 of the canonical genesis bytes."""
        return sha256(self.encoded).hex()


def genesis_from_document(document: Mapping[str, Any]) -> Genesis:
    """Validate a genesis document given as a JSON-like mapping."""
    try:
        model = GenesisDocument.model_validate(document)
        encoded = canonical_bytes(dict(document))
    except (ValidationError, CanonicalError) as error:
        raise InvalidGenesis(f"invalid genesis document: {error}") from error
    return Genesis(document=dict(document), model=model, encoded=encoded)


def load_genesis(data: bytes) -> Genesis:
    """Parse canonical genesis bytes; other JSON spellings are rejected so the hash is stable."""
    try:
        document = decode_canonical(data)
    except CanonicalError as error:
        raise InvalidGenesis(f"genesis file is not canonical JSON: {error}") from error
    if not isinstance(document, dict):
        raise InvalidGenesis("genesis file must contain a JSON object")
    return genesis_from_document(document)


def make_genesis(
    *,
    name: str,
    time: int,
    members: Sequence[Mapping[str, Any]],
    submit: Mapping[str, Sequence[str]],
    proposers: Sequence[str],
) -> Genesis:
    """Build a version-1 genesis document from its parts."""
    document = {
        "version": 1,
        "name": name,
        "time": time,
        "members": [dict(member) for member in members],
        "policy": {
            "submit": {tx_type: list(roles) for tx_type, roles in submit.items()},
            "block": {"mode": "proposer", "proposers": list(proposers)},
        },
    }
    return genesis_from_document(document)


def member_entry(member_id: str, name: str, role: str, keys: Sequence[bytes]) -> dict[str, Any]:
    """Build a registry entry for a member from its raw Ed25519 public keys."""
    return {
        "id": member_id,
        "name": name,
        "role": role,
        "keys": [{"key_id": key_id_for(key), "public_key": key.hex()} for key in keys],
    }
