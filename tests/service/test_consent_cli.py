"""`consentry consent register` errors: each names the option or step that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest

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
