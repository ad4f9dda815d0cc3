"""ES256 signing keys of the embedded broker, kept on disk as 0600 files and rotatable."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

logger = logging.getLogger(__name__)

STATE_FILE = "keys.json"
JWKS_FILE = "jwks.json"
PRIVATE_MODE = 0o600


class KeyStoreError(Exception):
    """The key directory is unreadable, corrupt or has unsafe permissions."""


@dataclass(frozen=True)
class SigningKey:
    """One ES256 private key and its `kid` (the RFC 7638 JWK thumbprint)."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey

    def public_jwk(self) -> dict[str, str]:
        """Return the public key as a JWK for ES256 signatures."""
        return {**_public_members(self.private_key), "kid": self.kid, "alg": "ES256", "use": "sig"}


class BrokerKeyStore:
    """Signing keys in `directory`: one active key plus retired keys kept until a deadline.

    Files: `<kid>.pem` (PKCS#8, mode 0600) per key, `keys.json` naming the active key and
    each retired key's deadline, and `jwks.json` with the public keys to publish.
    """

    def __init__(self, directory: Path, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.clock = clock
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        state = self._read_state()
        if state.get("active") is None:
            self.active = self._create_key()
            self._state: dict[str, Any] = {"active": self.active.kid, "retired": {}}
            self._save()
            logger.info("created broker signing key kid=%s in %s", self.active.kid, directory)
        else:
            self._state = state
            self.active = self._read_key(str(state["active"]))
        self._version = _file_version(self.directory / STATE_FILE)

    def refresh(self) -> None:
        """Reread the key state when another process, such as the CLI, has rotated the keys."""
        version = _file_version(self.directory / STATE_FILE)
        if version == self._version:
            return
        state = self._read_state()
        if state.get("active") is not None:
            self._state = state
            self.active = self._read_key(str(state["active"]))
            logger.info("reloaded broker signing keys; active kid=%s", self.active.kid)
        self._version = version

    @property
    def jwks_path(self) -> Path:
        """The JWKS file with the active and retained public keys."""
        return self.directory / JWKS_FILE

    def rotate(self, retain_seconds: float) -> SigningKey:
        """Make a new key active; keep the old one published for `retain_seconds`.

        Pass at least the longest lifetime of tokens signed by the old key, so they stay
        verifiable until they expire.
        """
        old = self.active
        new = self._create_key()
        retired: dict[str, float] = dict(self._state.get("retired", {}))
        retired[old.kid] = self.clock() + retain_seconds
        self._state = {"active": new.kid, "retired": retired}
        self.active = new
        self._save()
        logger.info("rotated broker signing key from kid=%s to kid=%s", old.kid, new.kid)
        return new

    def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        """Return the JWKS to publish, after deleting retired keys past their deadline."""
        now = self.clock()
        retired: dict[str, float] = dict(self._state.get("retired", {}))
        expired = [kid for kid, deadline in retired.items() if deadline <= now]
        if expired:
            for kid in expired:
                del retired[kid]
                (self.directory / f"{kid}.pem").unlink(missing_ok=True)
                logger.info("removed retired broker signing key kid=%s", kid)
            self._state = {"active": self.active.kid, "retired": retired}
            self._save()
        return self._published_keys()

    def _create_key(self) -> SigningKey:
        private_key = ec.generate_private_key(ec.SECP256R1())
        kid = jwk_thumbprint(private_key)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(self.directory / f"{kid}.pem", pem, exclusive=True)
        return SigningKey(kid, private_key)

    def _read_key(self, kid: str) -> SigningKey:
        path = self.directory / f"{kid}.pem"
        _check_private(path)
        try:
            private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"cannot load broker key {path}: {exc}") from exc
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise KeyStoreError(f"broker key {path} is not an EC P-256 key")
        return SigningKey(kid, private_key)

    def _read_state(self) -> dict[str, Any]:
        path = self.directory / STATE_FILE
        if not path.exists():
            return {}
        _check_private(path)
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"cannot read key state {path}: {exc}") from exc
        if not isinstance(state, dict) or not isinstance(state.get("retired", {}), dict):
            raise KeyStoreError(f"key state {path} is not a JSON object with a retired map")
        return state

    def _save(self) -> None:
        state = json.dumps(self._state, indent=2).encode("utf-8")
        _write_private(self.directory / STATE_FILE, state, exclusive=False)
        jwks = json.dumps(self._published_keys(), indent=2).encode("utf-8")
        _write_private(self.jwks_path, jwks, exclusive=False, mode=0o644)
        self._version = _file_version(self.directory / STATE_FILE)

    def _published_keys(self) -> dict[str, list[dict[str, str]]]:
        retired: dict[str, float] = self._state.get("retired", {})
        keys = [self.active.public_jwk()]
        return {"keys": keys + [self._read_key(kid).public_jwk() for kid in retired]}


def jwk_thumbprint(private_key: ec.EllipticCurvePrivateKey) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of the public key, base64url without padding."""
    members = _public_members(private_key)
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode("ascii")
    return _b64url(hashlib.sha256(canonical).digest())


def _public_members(private_key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = private_key.public_key().public_numbers()
    return {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _write_private(path: Path, data: bytes, exclusive: bool, mode: int = PRIVATE_MODE) -> None:
    """Write a file with `mode` set before any byte lands; replace atomically unless exclusive."""
    target = path if exclusive else path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(target, flags, mode)
    try:
        os.fchmod(descriptor, mode)
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if not exclusive:
        os.replace(target, path)


def _file_version(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)


def _check_private(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise KeyStoreError(f"cannot read broker key file {path}: {exc.strerror}") from exc
    if stat.S_IMODE(mode) & 0o077:
        raise KeyStoreError(f"{path} is readable by group or others; run chmod 600 {path}")
