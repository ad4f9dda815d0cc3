"""Broker key store: 0600 key files, reload, rotation and pruning of retired keys."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from service.auth.keys import BrokerKeyStore, KeyStoreError


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_run_creates_private_files(tmp_path: Path) -> None:
    store = BrokerKeyStore(tmp_path / "keys")

    assert mode(tmp_path / "keys") == 0o700
    assert mode(tmp_path / "keys" / f"{store.active.kid}.pem") == 0o600
    assert mode(tmp_path / "keys" / "keys.json") == 0o600


def test_reload_keeps_active_key(tmp_path: Path) -> None:
    first = BrokerKeyStore(tmp_path)

    second = BrokerKeyStore(tmp_path)

    assert second.active.kid == first.active.kid


def test_published_jwk_is_public_es256(tmp_path: Path) -> None:
    store = BrokerKeyStore(tmp_path)

    (jwk,) = store.public_jwks()["keys"]

    assert jwk["kty"] == "EC"
    assert jwk["crv"] == "P-256"
    assert jwk["alg"] == "ES256"
    assert "d" not in jwk
    assert json.loads(store.jwks_path.read_text()) == {"keys": [jwk]}


def test_rotation_keeps_old_kid(tmp_path: Path) -> None:
    store = BrokerKeyStore(tmp_path)
    old_kid = store.active.kid

    new = store.rotate(retain_seconds=3600)

    kids = [key["kid"] for key in store.public_jwks()["keys"]]
    assert new.kid != old_kid
    assert kids == [new.kid, old_kid]


def test_rotation_survives_reload(tmp_path: Path) -> None:
    store = BrokerKeyStore(tmp_path)
    old_kid = store.active.kid
    new = store.rotate(retain_seconds=3600)

    reloaded = BrokerKeyStore(tmp_path)

    assert reloaded.active.kid == new.kid
    assert [key["kid"] for key in reloaded.public_jwks()["keys"]] == [new.kid, old_kid]


def test_retired_key_removed_after_deadline(tmp_path: Path) -> None:
    clock = Clock()
    store = BrokerKeyStore(tmp_path, clock=clock)
    old_kid = store.active.kid
    store.rotate(retain_seconds=3600)

    clock.now += 3600
    kids = [key["kid"] for key in store.public_jwks()["keys"]]

    assert kids == [store.active.kid]
    assert not (tmp_path / f"{old_kid}.pem").exists()


def test_group_readable_key_rejected(tmp_path: Path) -> None:
    store = BrokerKeyStore(tmp_path)
    (tmp_path / f"{store.active.kid}.pem").chmod(0o640)

    with pytest.raises(KeyStoreError, match="chmod 600"):
        BrokerKeyStore(tmp_path)


def test_corrupt_state_rejected(tmp_path: Path) -> None:
    BrokerKeyStore(tmp_path)
    (tmp_path / "keys.json").write_text("not json")

    with pytest.raises(KeyStoreError, match="cannot read key state"):
        BrokerKeyStore(tmp_path)
