"""`consentry consent register` errors: each names the option or step that fixes it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from consent_chain.genesis import load_genesis
from consent_chain.node import NodeSettings
from consent_chain.store_sqlite import SqliteChainStore
from service import consent_cli
from service.cli import main
from service.config import load_settings
from service.consent_services import open_consent_services


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "consentry.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\n")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A settings file whose state directory contains a chain, as after `consentry serve`."""
    path = write_config(tmp_path)
    open_consent_services(load_settings(path)).close()
    return path


def register(config: Path, *options: str) -> list[str]:
    return ["consent", "register", "--config", str(config), "--dataset", "DS1",
            "--url", "https://data.example.org/datasets/DS1", "--objects", "ds1/", *options]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--permission", "PUB"], "PUB (DUO:0000019) is a DUO modifier, not a permission; "
                                  "use one of NRES, GRU, HMB, DS, POA"),
        (["--permission", "XYZ"], "unknown DUO permission 'XYZ'; use one of NRES, GRU, HMB, "
                                  "DS, POA, by name or DUO id"),
        (["--permission", "GRU", "--modifier", "HMB"], "HMB (DUO:0000006) is a DUO permission, "
                                                       "not a modifier"),
        (["--permission", "DS"], "needs MONDO disease_ids; pass each disease with "
                                 "--disease MONDO:NNNNNNN"),
        (["--permission", "GRU", "--modifier", "TS"], "needs time_limit.not_after; pass "
                                                      "--expires YYYY-MM-DD"),
    ],
)
def test_register_names_the_fix(
    config: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert main(register(config, *options)) == 1
    error = capsys.readouterr().err
    assert message in error
    assert "Value error" not in error


def test_register_with_valid_options_commits(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(register(config, "--permission", "DS", "--disease", "MONDO:0007254")) == 0
    assert "committed register for dataset DS1" in capsys.readouterr().out


def test_register_without_chain_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(register(config, "--permission", "GRU")) == 1
    error = capsys.readouterr().err
    assert f"no consent chain at {tmp_path / 'state'}" in error
    assert "--config FILE" in error
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["participant", "--pseudonym", "a" * 64, "--none"],
        ["pending"],
        ["participants"],
    ],
)
def test_participant_commands_without_chain_create_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config = write_config(tmp_path)
    argv = ["consent", command[0], "--config", str(config), "--dataset", "DS1", *command[1:]]
    assert main(argv) == 1
    assert f"no consent chain at {tmp_path / 'state'}" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()


def test_verify_reports_etcd_head_behind_forked_mirror(
    populated_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    longer, shorter = populated_pair
    genesis = load_genesis((longer.parent / "genesis.json").read_bytes())
    mirror = SqliteChainStore(longer, genesis.chain_id)
    monkeypatch.setattr(consent_cli, "open_etcd_store",
                        lambda settings, chain_id: SqliteChainStore(shorter, chain_id))
    status = consent_cli._compare_with_etcd(
        NodeSettings(longer.parent, "hospital-a", "Hospital A"), genesis, mirror.head())
    out, err = capsys.readouterr()
    assert status == 1
    assert "etcd head:   height 1," in out
    assert "not a prefix of the chain in etcd" in err
    mirror.close()


@pytest.fixture
def populated_pair(config: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of one chain file: one with three blocks, one cut after the first."""
    for dataset in ("DS1", "DS2", "DS3"):
        assert main(["consent", "register", "--config", str(config), "--dataset", dataset,
                     "--url", f"https://data.example.org/datasets/{dataset}",
                     "--objects", f"{dataset.lower()}/", "--permission", "GRU"]) == 0
    longer = tmp_path / "state" / "chain" / "chain.sqlite"
    shorter = tmp_path / "short" / "chain.sqlite"
    shorter.parent.mkdir()
    with sqlite3.connect(longer) as source, sqlite3.connect(shorter) as target:
        source.backup(target)
        target.execute("DELETE FROM transactions WHERE height > 1")
        target.execute("DELETE FROM blocks WHERE height > 1")
    return longer, shorter
