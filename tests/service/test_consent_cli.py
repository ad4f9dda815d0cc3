"""`consentry consent register` option errors: each names the option that fixes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import main


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A settings file whose state directory is private to the test."""
    path = tmp_path / "consentry.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\n")
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
