"""Signed transactions: canonical body, Ed25519 signature and the envelope stored on chain.

The envelope is the canonical JSON object {"body": <body>, "signature": <hex>}.
Its bytes are the Merkle leaf data, and SHA-256 of them is the transaction hash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from consent_chain.canonical import canonical_bytes, decode_canonical, sha256
from consent_chain.crypto import TX_DOMAIN, Signer, verify_signature
from consent_chain.errors import CanonicalError, InvalidTransaction
from consent_chain.merkle import leaf_hash
from consent_chain.models import PAYLOAD_MODELS, TransactionBody


@dataclass(frozen=True)
class SignedTransaction:
    """A transaction body with its signature and canonical envelope bytes.

    `payload_model` is the validated payload when the transaction was built
    by `sign_transaction` or `decode_transaction`, which both validate it,
    so applying the transaction need not validate it again.
    """

    body: dict[str, Any]
    signature: bytes
    envelope: bytes
    payload_model: BaseModel | None = field(default=None, compare=False, repr=False)

    @property
    def tx_hash(self) -> bytes:
        """SHA-256 of the envelope bytes."""
        return sha256(self.envelope)

    @property
    def leaf_hash(self) -> bytes:
        """RFC 9162 leaf hash of the envelope bytes."""
        return leaf_hash(self.envelope)

    @property
    def type(self) -> str:
        """Transaction type, such as `access_decision`."""
        return str(self.body["type"])

    @property
    def member(self) -> str:
        """Id of the submitting member institution."""
        return str(self.body["member"])

    @property
    def key_id(self) -> str:
        """Id of the key that signed the transaction."""
        return str(self.body["key_id"])

    @property
    def seq(self) -> int:
        """Per-member sequence number."""
        return int(self.body["seq"])

    @property
    def payload(self) -> dict[str, Any]:
        """Type-specific payload."""
        payload: dict[str, Any] = self.body["payload"]
        return payload


def signing_input(body: dict[str, Any]) -> bytes:
    """Return the bytes a transaction signature covers: TX_DOMAIN + canonical body."""
    return TX_DOMAIN + canonical_bytes(body)


def validate_body(body: dict[str, Any]) -> BaseModel:
    """Check the body and its type's payload shape; return the validated payload model."""
    try:
        parsed = TransactionBody.model_validate(body)
    except ValidationError as error:
        raise InvalidTransaction(f"invalid transaction body: {_first_error(error)}") from error
    try:
        return PAYLOAD_MODELS[parsed.type].model_validate(parsed.payload)
    except ValidationError as error:
        raise InvalidTransaction(
            f"invalid {parsed.type} payload: {_first_error(error)}"
        ) from error


def sign_transaction(
    signer: Signer,
    *,
    chain_id: str,
    tx_type: str,
    member: str,
    seq: int,
    time: int,
    payload: dict[str, Any],
) -> SignedTransaction:
    """Validate and sign a transaction body with `signer`."""
    body = {
        "chain_id": chain_id,
        "type": tx_type,
        "member": member,
        "key_id": signer.key_id,
        "seq": seq,
        "time": time,
        "payload": payload,
    }
    payload_model = validate_body(body)
    body_bytes = canonical_bytes(body)
    signature = signer.sign(TX_DOMAIN, body_bytes)
    # The canonical envelope, spelled out: "body" sorts before "signature",
    # and a hex string needs no escaping, so no second encoding is needed.
    envelope = b"".join((_ENVELOPE_HEAD, body_bytes, b',"signature":"',
                         signature.hex().encode("ascii"), b'"}'))
    return SignedTransaction(body, signature, envelope, payload_model)


def decode_transaction(envelope: bytes) -> SignedTransaction:
    """Parse envelope bytes and check their canonical form and shape (not the signature)."""
    try:
        value = decode_canonical(envelope)
    except CanonicalError as error:
        raise InvalidTransaction(f"transaction envelope is not canonical JSON: {error}") from error
    if not isinstance(value, dict) or set(value) != {"body", "signature"}:
        raise InvalidTransaction("transaction envelope must have exactly 'body' and 'signature'")
    body, signature_hex = value["body"], value["signature"]
    if not isinstance(body, dict):
        raise InvalidTransaction("transaction body must be a JSON object")
    signature = _parse_signature(signature_hex)
    payload_model = validate_body(body)
    return SignedTransaction(body, signature, envelope, payload_model)


# Envelopes whose signature already verified, with the key it verified under.
# The ledger checks each transaction when it is submitted and again when its
# block is sealed; the second check then costs a lookup instead of a canonical
# encoding and an Ed25519 verification. Only successes are kept, and a result
# depends on nothing but these bytes, so a cached answer is always right.
_VERIFIED: OrderedDict[tuple[bytes, bytes], None] = OrderedDict()
_VERIFIED_MAX = 65536
_VERIFIED_LOCK = threading.Lock()


_ENVELOPE_HEAD = b'{"body":'
_ENVELOPE_TAIL = len(b',"signature":"') + 128 + len(b'"}')


def _signed_bytes(tx: SignedTransaction) -> bytes:
    """Return the canonical body bytes the signature covers.

    The envelope is canonical JSON with the members "body" and "signature",
    so it is `{"body":` + the canonical body + `,"signature":"<128 hex>"}`;
    slicing it saves encoding the body again. Any other shape falls back to
    encoding the body.
    """
    envelope = tx.envelope
    body = envelope[len(_ENVELOPE_HEAD) : -_ENVELOPE_TAIL]
    tail = envelope[-_ENVELOPE_TAIL:]
    if envelope.startswith(_ENVELOPE_HEAD) and tail.startswith(b',"signature":"'):
        return body
    return canonical_bytes(tx.body)


def forget_verified_signatures() -> None:
    """Empty the cache of verified signatures, so the next checks verify from scratch."""
    with _VERIFIED_LOCK:
        _VERIFIED.clear()


def has_valid_signature(tx: SignedTransaction, public_key: bytes) -> bool:
    """Return whether the transaction's signature verifies under `public_key`."""
    key = (tx.envelope, public_key)
    with _VERIFIED_LOCK:
        if key in _VERIFIED:
            _VERIFIED.move_to_end(key)
            return True
    if not verify_signature(public_key, TX_DOMAIN, _signed_bytes(tx), tx.signature):
        return False
    with _VERIFIED_LOCK:
        _VERIFIED[key] = None
        if len(_VERIFIED) > _VERIFIED_MAX:
            _VERIFIED.popitem(last=False)
    return True


def _parse_signature(value: object) -> bytes:
    if not isinstance(value, str) or len(value) != 128:
        raise InvalidTransaction("transaction signature must be 128 lowercase hex digits")
    try:
        signature = bytes.fromhex(value)
    except ValueError as error:
        raise InvalidTransaction("transaction signature is not hex") from error
    if signature.hex() != value:
        raise InvalidTransaction("transaction signature must use lowercase hex")
    return signature


def _first_error(error: ValidationError) -> str:
    detail = error.errors()[0]
    location = ".".join(str(part) for part in detail["loc"]) or "<root>"
    return f"{location}: {detail['msg']}"
