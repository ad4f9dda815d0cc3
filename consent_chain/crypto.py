"""Ed25519 signing with domain separation, key ids and keyed pseudonyms."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consent_chain.canonical import canonical_bytes

# Each signed or hashed structure gets its own prefix, so a signature over one
# kind of object can never be replayed as a signature over another kind.
TX_DOMAIN = b"consentry/tx/v1\n"
BLOCK_DOMAIN = b"consentry/block/v1\n"
CHECKPOINT_DOMAIN = b"consentry/checkpoint/v1\n"
PSEUDONYM_DOMAIN = b"consentry/pseudonym/v1\n"

MIN_SECRET_BYTES = 32


def key_id_for(public_key: bytes) -> str:
    """Return the key id of a raw 32-byte Ed25519 public key: hex of SHA-256's first 8 bytes."""
    return hashlib.sha256(public_key).digest()[:8].hex()


class Signer:
    """An Ed25519 private key with its raw public key and key id."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id_for(self.public_key)

    @classmethod
    def generate(cls) -> Signer:
        """Create a signer with a fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        """Create a signer from a 32-byte Ed25519 private key seed."""
        if len(seed) != 32:
            raise ValueError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, domain: bytes, message: bytes) -> bytes:
        """Sign `domain + message` and return the 64-byte signature."""
        return self._private_key.sign(domain + message)

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"


def verify_signature(public_key: bytes, domain: bytes, message: bytes, signature: bytes) -> bool:
    """Return whether `signature` is a valid Ed25519 signature of `domain + message`."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, domain + message)
    except (InvalidSignature, ValueError):
        return False
    return True


def keyed_hash(secret: bytes, kind: str, *parts: str) -> str:
    """Return a hex HMAC-SHA256 pseudonym of `parts` under an institution's secret.

    The MAC input is PSEUDONYM_DOMAIN followed by the canonical JSON array
    `[kind, *parts]`, so ("a", "bc") and ("ab", "c") never collide. Without
    the secret a pseudonym cannot be linked back to its inputs, and destroying
    the secret makes every pseudonym made with it unlinkable.
    """
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the pseudonym secret is {len(secret)} bytes; use at least {MIN_SECRET_BYTES}"
        )
    message = PSEUDONYM_DOMAIN + canonical_bytes([kind, *parts])
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def participant_pseudonym(secret: bytes, participant_id: str) -> str:
    """Return the on-chain pseudonym of a study participant."""
    return keyed_hash(secret, "participant", participant_id)


def requester_pseudonym(secret: bytes, issuer: str, subject: str) -> str:
    """Return the on-chain pseudonym of a requester, keyed on the Passport `iss` and `sub`."""
    return keyed_hash(secret, "requester", issuer, subject)
