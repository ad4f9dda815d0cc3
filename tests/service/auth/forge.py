"""Mint JWS tokens with raw `cryptography`, independent of PyJWT, including broken ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384"}


def b64url(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int, length: int | None = None) -> bytes:
    size = length or (value.bit_length() + 7) // 8
    return value.to_bytes(size, "big")


@dataclass(frozen=True)
class ForgeKey:
    """A private key and the `kid` it is published under."""

    kid: str
    private_key: PrivateKey

    @classmethod
    def rsa(cls, kid: str, bits: int = 2048) -> ForgeKey:
        """Generate an RSA key."""
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=bits))

    @classmethod
    def ec(cls, kid: str, curve: ec.EllipticCurve | None = None) -> ForgeKey:
        """Generate an EC key, on P-256 unless `curve` is given."""
        return cls(kid, ec.generate_private_key(curve or ec.SECP256R1()))

    def jwk(self) -> dict[str, str]:
        """Return the public key as a JWK built from its numbers."""
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            numbers = self.private_key.public_key().public_numbers()
            return {
                "kty": "RSA",
                "kid": self.kid,
                "n": b64url(_int_bytes(numbers.n)),
                "e": b64url(_int_bytes(numbers.e)),
            }
        curve = self.private_key.curve
        size = (curve.key_size + 7) // 8
        point = self.private_key.public_key().public_numbers()
        return {
            "kty": "EC",
            "kid": self.kid,
            "crv": CURVE_NAMES[curve.name],
            "x": b64url(_int_bytes(point.x, size)),
            "y": b64url(_int_bytes(point.y, size)),
        }

    def public_pem(self) -> bytes:
        """Return the public key as PEM, the bytes an HS256 key-confusion attack uses."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def jwks(*keys: ForgeKey) -> dict[str, list[dict[str, str]]]:
    """Return a JWKS document with the public keys."""
    return {"keys": [key.jwk() for key in keys]}


def sign_bytes(signing_input: bytes, alg: str, key: ForgeKey | bytes | None) -> bytes:
    """Sign with `alg`: RS256, ES256 (any curve), HS256 with a secret, or none."""
    if alg == "none" or key is None:
        return b""
    if isinstance(key, bytes):
        return hmac.new(key, signing_input, hashlib.sha256).digest()
    private_key = key.private_key
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    der = private_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    size = (private_key.curve.key_size + 7) // 8
    return _int_bytes(r, size) + _int_bytes(s, size)


def mint(header: dict[str, Any], payload: dict[str, Any], key: ForgeKey | bytes | None) -> str:
    """Serialise and sign a compact JWS with exactly the given header and payload."""
    header_part = b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    payload_part = b64url(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    signing_input = f"{header_part}.{payload_part}".encode("ascii")
    signature = sign_bytes(signing_input, str(header.get("alg")), key)
    return f"{header_part}.{payload_part}.{b64url(signature)}"


def replace_payload(token: str, payload: dict[str, Any]) -> str:
    """Swap the payload of a signed token and keep the old signature."""
    header_part, _, signature = token.split(".")
    payload_part = b64url(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return f"{header_part}.{payload_part}.{signature}"
