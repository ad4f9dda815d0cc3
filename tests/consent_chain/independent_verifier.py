"""A second consent chain verifier, written only from docs/consent-chain.md.

It shares no code with the `consent_chain` package (nor with `service` or
`adapters`), so a test that runs both on the same chain catches a format
detail that the reference code and its own verifier get wrong the same way.
Every check raises VerificationError naming what failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TX_DOMAIN = b"consentry/tx/v1\n"
BLOCK_DOMAIN = b"consentry/block/v1\n"
CHECKPOINT_DOMAIN = b"consentry/checkpoint/v1\n"
MAX_SAFE_INTEGER = 2**53 - 1

BODY_FIELDS = {"chain_id", "type", "member", "key_id", "seq", "time", "payload"}
HEADER_FIELDS = {"version", "chain_id", "height", "prev_hash", "time", "proposer", "key_id",
                 "config_hash", "tx_count", "tx_root", "log_size", "log_root"}
CHECKPOINT_FIELDS = {"chain_id", "tree_size", "root_hash", "block_height", "block_hash", "time",
                     "signer", "key_id"}
RECEIPT_FIELDS = {"version", "transaction", "leaf_index", "block_height", "inclusion_proof",
                  "checkpoint"}
SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                 "\t": "\\t"}


class VerificationError(Exception):
    """A chain, block, transaction, proof or receipt does not match the format spec."""


def sha256(data: bytes) -> bytes:
    """Return the SHA-256 digest of `data`."""
    return hashlib.sha256(data).digest()


def canonical(value: Any) -> bytes:
    """Encode `value` as RFC 8785 canonical JSON, restricted to the types the chain uses."""
    return _encode(value).encode("utf-8", "strict")


def _encode(value: Any) -> str:
    if value is None or isinstance(value, float):
        raise VerificationError(f"{value!r} is not allowed on the chain (no null, no floats)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise VerificationError(f"integer {value} is outside +/-(2^53 - 1)")
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    if isinstance(value, dict):
        names = sorted(value, key=lambda name: name.encode("utf-16-be", "surrogatepass"))
        members = [_quote(name) + ":" + _encode(value[name]) for name in names]
        return "{" + ",".join(members) + "}"
    raise VerificationError(f"value of type {type(value).__name__} is not JSON")


def _quote(text: str) -> str:
    characters = []
    for character in text:
        if character in SHORT_ESCAPES:
            characters.append(SHORT_ESCAPES[character])
        elif ord(character) < 0x20:
            characters.append(f"\\u{ord(character):04x}")
        else:
            characters.append(character)
    return '"' + "".join(characters) + '"'


def decode(data: bytes) -> Any:
    """Parse canonical JSON bytes; reject duplicate names and any non-canonical input."""

    def unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise VerificationError(f"duplicate object member names in {names}")
        return dict(pairs)

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=unique_names)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VerificationError(f"invalid UTF-8 JSON: {error}") from error
    if canonical(value) != data:
        raise VerificationError("JSON bytes are not in canonical form")
    return value


def key_id(public_key_hex: str) -> str:
    """Return the key id: the first 8 bytes of SHA-256 of the raw public key, in hex."""
    return sha256(bytes.fromhex(public_key_hex))[:8].hex()


def check_signature(public_key_hex: str, domain: bytes, message: bytes,
                    signature_hex: str) -> None:
    """Check an Ed25519 signature over `domain || message` under the strict rules.

    OpenSSL (through cryptography) does the RFC 8032 check. The rules it
    does not apply, that S is below L and that neither A nor R is a small-order
    point or a non-canonical encoding, are checked here first.
    """
    public_key, signature = bytes.fromhex(public_key_hex), bytes.fromhex(signature_hex)
    if len(public_key) != 32 or len(signature) != 64:
        raise VerificationError(f"signature {signature_hex[:16]}... or key has the wrong length")
    if int.from_bytes(signature[32:], "little") >= GROUP_ORDER:
        raise VerificationError(f"signature {signature_hex[:16]}... has S not below L")
    for name, encoded in (("public key", public_key), ("R", signature[:32])):
        point = decode_point(encoded)
        if point is None or is_identity(multiply(point, 8)):
            raise VerificationError(f"signature {signature_hex[:16]}... is invalid: {name} "
                                    f"{encoded.hex()} is not a canonical point of large order")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, domain + message)
    except (ValueError, InvalidSignature) as error:
        raise VerificationError(
            f"signature {signature_hex[:16]}... does not verify under {public_key_hex}"
        ) from error


# Edwards25519 (RFC 8032, section 5.1): -x^2 + y^2 = 1 + d x^2 y^2 over GF(p).
FIELD_PRIME = 2**255 - 19
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
CURVE_D = -121665 * pow(121666, -1, FIELD_PRIME) % FIELD_PRIME
SQRT_MINUS_ONE = pow(2, (FIELD_PRIME - 1) // 4, FIELD_PRIME)
Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z
IDENTITY: Point = (0, 1, 1, 0)


def decode_point(encoded: bytes) -> Point | None:
    """Return the point a 32-byte encoding names, or None if y >= p or no x exists."""
    number = int.from_bytes(encoded, "little")
    sign, y = number >> 255, number & (2**255 - 1)
    if y >= FIELD_PRIME:
        return None
    u, v = (y * y - 1) % FIELD_PRIME, (CURVE_D * y * y + 1) % FIELD_PRIME
    x = u * pow(v, 3, FIELD_PRIME) * pow(u * pow(v, 7, FIELD_PRIME), (FIELD_PRIME - 5) // 8,
                                         FIELD_PRIME) % FIELD_PRIME
    if (v * x * x - u) % FIELD_PRIME != 0:
        x = x * SQRT_MINUS_ONE % FIELD_PRIME
    if (v * x * x - u) % FIELD_PRIME != 0 or (x == 0 and sign == 1):
        return None
    if x & 1 != sign:
        x = FIELD_PRIME - x
    return (x, y, 1, x * y % FIELD_PRIME)


def add_points(first: Point, second: Point) -> Point:
    """Add two points with the complete formula for a = -1 (RFC 8032, section 5.1.4)."""
    x1, y1, z1, t1 = first
    x2, y2, z2, t2 = second
    a = (y1 - x1) * (y2 - x2) % FIELD_PRIME
    b = (y1 + x1) * (y2 + x2) % FIELD_PRIME
    c = 2 * t1 * t2 * CURVE_D % FIELD_PRIME
    d = 2 * z1 * z2 % FIELD_PRIME
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % FIELD_PRIME, g * h % FIELD_PRIME, f * g % FIELD_PRIME, e * h % FIELD_PRIME)


def multiply(point: Point, scalar: int) -> Point:
    """Return scalar * point by double-and-add."""
    result = IDENTITY
    while scalar:
        if scalar & 1:
            result = add_points(result, point)
        point = add_points(point, point)
        scalar >>= 1
    return result


def is_identity(point: Point) -> bool:
    """Return whether `point` is the neutral element (x = 0, y = 1)."""
    x, y, z, _ = point
    return x % FIELD_PRIME == 0 and (y - z) % FIELD_PRIME == 0


def check_registered_key(public_key_hex: str) -> None:
    """Reject a key that is not a canonical encoding of a point of prime order L."""
    point = decode_point(bytes.fromhex(public_key_hex))
    if point is None or is_identity(point) or not is_identity(multiply(point, GROUP_ORDER)):
        raise VerificationError(f"public key {public_key_hex} is not a point of prime order L")


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Return the RFC 9162 Merkle tree hash of the given leaf hashes."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return sha256(b"\x01" + merkle_root(leaves[:split]) + merkle_root(leaves[split:]))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Check an inclusion proof per RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, result = index, size - 1, leaf
    for node in proof:
        if sn == 0:
            raise VerificationError("inclusion proof has more elements than the tree needs")
        if fn % 2 == 1 or fn == sn:
            result = sha256(b"\x01" + node + result)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            result = sha256(b"\x01" + result + node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or result != root:
        raise VerificationError(f"inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check a consistency proof per RFC 9162 section 2.1.4.2."""
    if not 0 <= old_size <= new_size:
        raise VerificationError(f"old size {old_size} is not within 0..{new_size}")
    if old_size in (0, new_size):
        if proof or (old_size == new_size and old_root != new_root):
            raise VerificationError(f"sizes {old_size} -> {new_size} need an empty proof "
                                    "(and equal roots for equal sizes)")
        return
    if not proof:
        raise VerificationError("consistency proof is empty")
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof has more elements than the trees need")
        if fn % 2 == 1 or fn == sn:
            fr = sha256(b"\x01" + node + fr)
            sr = sha256(b"\x01" + node + sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = sha256(b"\x01" + sr + node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise VerificationError(f"consistency proof {old_size} -> {new_size} does not verify")


@dataclass
class Member:
    """One registered member: its name, role and keys (key id -> [public key hex, status])."""

    name: str
    role: str
    keys: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Registry:
    """The member registry in force, the policy, and each member's last transaction seq."""

    members: dict[str, Member]
    policy: dict[str, Any]
    last_seq: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_genesis(cls, genesis: dict[str, Any]) -> Registry:
        """Build the registry that a genesis document defines."""
        registry = cls({}, genesis["policy"])
        for member in genesis["members"]:
            registry.add_member(member)
        return registry

    def add_member(self, member: dict[str, Any]) -> None:
        """Register a member object of the genesis form, with all of its keys active."""
        if member["id"] in self.members:
            raise VerificationError(f"member {member['id']} is already registered")
        self.members[member["id"]] = Member(member["name"], member["role"])
        for key in member["keys"]:
            self.add_key(member["id"], key)

    def add_key(self, member_id: str, key: dict[str, str]) -> None:
        """Add an active key after checking that its id is new and derives from the key."""
        check_registered_key(key["public_key"])
        if key_id(key["public_key"]) != key["key_id"]:
            raise VerificationError(f"key id {key['key_id']} does not match its public key")
        if any(key["key_id"] in member.keys for member in self.members.values()):
            raise VerificationError(f"key id {key['key_id']} is already in use")
        self.members[member_id].keys[key["key_id"]] = [key["public_key"], "active"]

    def active_key(self, member_id: str, key: str) -> str:
        """Return the public key hex of an active key of `member_id`."""
        member = self.members.get(member_id)
        if member is None or member.keys.get(key, ["", ""])[1] != "active":
            raise VerificationError(f"key {key} is not an active key of member {member_id!r}")
        return member.keys[key][0]

    def config_hash(self) -> str:
        """Return the hex SHA-256 of the canonical config document."""
        members = [
            {"id": member_id, "name": member.name, "role": member.role,
             "keys": [{"key_id": key, "public_key": public, "status": status}
                      for key, (public, status) in sorted(member.keys.items())]}
            for member_id, member in sorted(self.members.items())
        ]
        return sha256(canonical({"members": members, "policy": self.policy})).hex()


def check_fields(value: Any, expected: set[str], label: str) -> dict[str, Any]:
    """Return `value` if it is an object with exactly the `expected` member names."""
    if not isinstance(value, dict) or set(value) != expected:
        raise VerificationError(f"{label} must have exactly the fields {sorted(expected)}")
    return value


def check_envelope(envelope: bytes, chain_id: str) -> dict[str, Any]:
    """Decode a transaction envelope and check its shape and chain id; return the body."""
    value = check_fields(decode(envelope), {"body", "signature"}, "transaction envelope")
    body = check_fields(value["body"], BODY_FIELDS, "transaction body")
    if body["chain_id"] != chain_id:
        raise VerificationError(f"transaction is for chain {body['chain_id']}, not {chain_id}")
    if not isinstance(body["payload"], dict):
        raise VerificationError("transaction payload must be an object")
    return body


@dataclass
class ChainVerifier:
    """Replays blocks from a pinned genesis: links, hashes, signatures, registry and roots."""

    genesis: dict[str, Any]
    chain_id: str
    registry: Registry
    prev_hash: str
    prev_time: int
    log: list[bytes] = field(default_factory=list)
    height: int = 0

    @classmethod
    def from_genesis_bytes(cls, data: bytes) -> ChainVerifier:
        """Start a verifier at the genesis whose canonical bytes are `data`."""
        genesis = decode(data)
        chain_id = sha256(data).hex()
        return cls(genesis, chain_id, Registry.from_genesis(genesis), chain_id, genesis["time"])

    def verify_block(self, block_hash: bytes, prev_hash: bytes, sealed: bytes,
                     envelopes: Sequence[bytes]) -> None:
        """Check the next block, given as stored: its hash, link, sealed header and envelopes."""
        if sha256(sealed) != block_hash:
            raise VerificationError(f"block hash {block_hash.hex()} is not SHA-256 of its header")
        if prev_hash.hex() != self.prev_hash:
            raise VerificationError(f"block links to {prev_hash.hex()}, not {self.prev_hash}")
        value = check_fields(decode(sealed), {"header", "signature"}, "sealed header")
        header = check_fields(value["header"], HEADER_FIELDS, "block header")
        self._check_header(header)
        public_key = self.registry.active_key(header["proposer"], header["key_id"])
        check_signature(public_key, BLOCK_DOMAIN, canonical(header), value["signature"])
        if header["tx_count"] != len(envelopes) or not envelopes:
            raise VerificationError(f"tx_count {header['tx_count']} does not match the "
                                    f"{len(envelopes)} stored transactions")
        leaves = [self._apply(envelope) for envelope in envelopes]
        self.log.extend(leaves)
        expected = {"tx_root": merkle_root(leaves).hex(), "log_size": len(self.log),
                    "log_root": merkle_root(self.log).hex()}
        for name, computed in expected.items():
            if header[name] != computed:
                raise VerificationError(f"header {name} {header[name]} is not {computed}")
        self.height, self.prev_hash, self.prev_time = header["height"], block_hash.hex(), \
            header["time"]

    def _check_header(self, header: dict[str, Any]) -> None:
        expected = {"version": 1, "chain_id": self.chain_id, "height": self.height + 1,
                    "prev_hash": self.prev_hash, "config_hash": self.registry.config_hash()}
        for name, value in expected.items():
            if header[name] != value:
                raise VerificationError(f"header {name} is {header[name]!r}, expected {value!r}")
        if header["time"] < self.prev_time:
            raise VerificationError(f"block time {header['time']} is before {self.prev_time}")
        if header["proposer"] not in self.registry.policy["block"]["proposers"]:
            raise VerificationError(f"{header['proposer']} is not a block proposer")

    def _apply(self, envelope: bytes) -> bytes:
        """Check one transaction against the registry, update it, and return the leaf hash."""
        body = check_envelope(envelope, self.chain_id)
        member = body["member"]
        public_key = self.registry.active_key(member, body["key_id"])
        check_signature(public_key, TX_DOMAIN, canonical(body), decode(envelope)["signature"])
        if body["seq"] != self.registry.last_seq.get(member, 0) + 1:
            raise VerificationError(f"seq {body['seq']} of {member} is out of order")
        if self.registry.members[member].role not in self.registry.policy["submit"].get(
                body["type"], []):
            raise VerificationError(f"role of {member} may not submit {body['type']}")
        self.registry.last_seq[member] = body["seq"]
        self._update_registry(member, body["type"], body["payload"])
        return sha256(b"\x00" + envelope)

    def _update_registry(self, member: str, tx_type: str, payload: dict[str, Any]) -> None:
        # NOTE: dataset, consent and decision rules of section 3 rule 6 are not replayed here,
        # only the registry changes that later signatures and config hashes depend on.
        keys = self.registry.members[member].keys
        if tx_type == "member_add":
            self.registry.add_member(payload["member"])
        elif tx_type == "member_key_rotate":
            self.registry.add_key(member, payload["new_key"])
            if "retire_key_id" in payload:
                self._revoke(keys, payload["retire_key_id"])
        elif tx_type == "member_key_revoke":
            self._revoke(keys, payload["key_id"])

    @staticmethod
    def _revoke(keys: dict[str, list[str]], key: str) -> None:
        if keys.get(key, ["", ""])[1] != "active":
            raise VerificationError(f"key {key} is not an active key of the submitter")
        keys[key][1] = "revoked"
        if not any(status == "active" for _, status in keys.values()):
            raise VerificationError(f"revoking {key} leaves the member without an active key")


def verify_receipt(data: bytes, member_keys: dict[str, dict[str, str]],
                   chain_id: str) -> dict[str, Any]:
    """Verify a receipt offline with pinned keys (member -> key id -> public key hex).

    Returns the transaction body that the receipt proves is in the log.
    """
    receipt = check_fields(decode(data), RECEIPT_FIELDS, "receipt")
    if receipt["version"] != 1:
        raise VerificationError(f"receipt version {receipt['version']} is not 1")
    checkpoint = check_fields(receipt["checkpoint"], {"body", "signature"}, "checkpoint")
    body = check_fields(checkpoint["body"], CHECKPOINT_FIELDS, "checkpoint body")
    if body["chain_id"] != chain_id:
        raise VerificationError(f"checkpoint is for chain {body['chain_id']}, not {chain_id}")
    signer_key = member_keys.get(body["signer"], {}).get(body["key_id"])
    if signer_key is None:
        raise VerificationError(f"checkpoint key {body['key_id']} of {body['signer']} is unknown")
    check_signature(signer_key, CHECKPOINT_DOMAIN, canonical(body), checkpoint["signature"])

    envelope = canonical(receipt["transaction"])
    tx_body = check_envelope(envelope, chain_id)
    tx_key = member_keys.get(tx_body["member"], {}).get(tx_body["key_id"])
    if tx_key is None:
        raise VerificationError(f"transaction key {tx_body['key_id']} is unknown")
    check_signature(tx_key, TX_DOMAIN, canonical(tx_body), receipt["transaction"]["signature"])

    proof = [bytes.fromhex(node) for node in receipt["inclusion_proof"]]
    verify_inclusion(sha256(b"\x00" + envelope), receipt["leaf_index"], body["tree_size"],
                     proof, bytes.fromhex(body["root_hash"]))
    return tx_body
