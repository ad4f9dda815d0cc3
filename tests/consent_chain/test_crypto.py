"""Tests for Ed25519 signing, key ids and keyed pseudonyms."""

from __future__ import annotations

import hashlib

import pytest

from consent_chain.crypto import (
    BLOCK_DOMAIN,
    TX_DOMAIN,
    Signer,
    key_id_for,
    keyed_hash,
    participant_pseudonym,
    requester_pseudonym,
    verify_signature,
)

SECRET = bytes(range(32))


def test_key_id_is_sha256_prefix() -> None:
    signer = Signer.from_seed(b"\x01" * 32)
    assert signer.key_id == hashlib.sha256(signer.public_key).digest()[:8].hex()


def test_key_id_for_matches_signer() -> None:
    signer = Signer.generate()
    assert key_id_for(signer.public_key) == signer.key_id


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Signer.from_seed(b"short")


def test_signature_verifies_with_same_domain() -> None:
    signer = Signer.from_seed(b"\x02" * 32)
    signature = signer.sign(TX_DOMAIN, b"message")
    assert verify_signature(signer.public_key, TX_DOMAIN, b"message", signature)


def test_signature_fails_under_other_domain() -> None:
    signer = Signer.from_seed(b"\x02" * 32)
    signature = signer.sign(TX_DOMAIN, b"message")
    assert not verify_signature(signer.public_key, BLOCK_DOMAIN, b"message", signature)


def test_signature_fails_for_other_message() -> None:
    signer = Signer.from_seed(b"\x02" * 32)
    signature = signer.sign(TX_DOMAIN, b"message")
    assert not verify_signature(signer.public_key, TX_DOMAIN, b"messagf", signature)


def test_signature_fails_under_other_key() -> None:
    signature = Signer.from_seed(b"\x02" * 32).sign(TX_DOMAIN, b"message")
    other = Signer.from_seed(b"\x03" * 32)
    assert not verify_signature(other.public_key, TX_DOMAIN, b"message", signature)


def test_malformed_signature_is_invalid() -> None:
    signer = Signer.from_seed(b"\x02" * 32)
    assert not verify_signature(signer.public_key, TX_DOMAIN, b"message", b"\x00" * 10)


def test_signature_matches_openssl() -> None:
    # Ed25519 is deterministic, so libsodium (our signer) and OpenSSL
    # (through cryptography) must produce the very same bytes.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hashlib.sha256(b"cross-check").digest()
    ours = Signer.from_seed(seed).sign(TX_DOMAIN, b"message")
    openssl_key = Ed25519PrivateKey.from_private_bytes(seed)
    assert ours == openssl_key.sign(TX_DOMAIN + b"message")
    openssl_key.public_key().verify(ours, TX_DOMAIN + b"message")


# Group order L of Ed25519's base point (RFC 8032, section 5.1).
ORDER = 2**252 + 27742317777372353535851937790883648493


def test_scalar_above_group_order_is_invalid() -> None:
    signer = Signer.from_seed(b"\x02" * 32)
    signature = signer.sign(TX_DOMAIN, b"message")
    scalar = int.from_bytes(signature[32:], "little") + ORDER
    malleated = signature[:32] + scalar.to_bytes(32, "little")
    assert not verify_signature(signer.public_key, TX_DOMAIN, b"message", malleated)


def test_identity_key_forgery_is_invalid() -> None:
    # With A and R the identity point and S = 0, the cofactorless equation
    # [S]B = R + [k]A holds for every message; a lax verifier accepts it.
    identity = (1).to_bytes(32, "little")
    forged = identity + bytes(32)
    for message in (b"message", b"another"):
        assert not verify_signature(identity, TX_DOMAIN, message, forged)


def test_keyed_hash_is_hmac_over_domain_and_parts() -> None:
    import hmac

    expected = hmac.new(
        SECRET, b'consentry/pseudonym/v1\n["participant","P-1"]', hashlib.sha256
    ).hexdigest()
    assert participant_pseudonym(SECRET, "P-1") == expected


def test_keyed_hash_separates_parts() -> None:
    assert keyed_hash(SECRET, "k", "a", "bc") != keyed_hash(SECRET, "k", "ab", "c")


def test_requester_and_participant_pseudonyms_differ() -> None:
    assert requester_pseudonym(SECRET, "P-1", "") != keyed_hash(SECRET, "participant", "P-1", "")


def test_pseudonym_depends_on_secret() -> None:
    other_secret = bytes(range(1, 33))
    assert participant_pseudonym(SECRET, "P-1") != participant_pseudonym(other_secret, "P-1")


def test_short_secret_rejected() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        participant_pseudonym(b"short", "P-1")
