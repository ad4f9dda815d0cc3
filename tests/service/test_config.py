"""`load_settings`: errors in the settings file and the environment name their source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.app import SETTINGS_ENVIRONMENT_VARIABLE
from service.config import ConfigError, Settings, load_settings
from service.config_sources import NON_SETTING_VARIABLES


def _config(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "consentry.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = _config(tmp_path, "host: 127.0.0.1\nport: [8181\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    message = str(caught.value)
    assert f"settings file {path} is not valid YAML" in message
    assert "line 3, column 1" in message
    assert "line 2, column 7" in message


@pytest.mark.parametrize(("text", "kind"), [("- port\n", "list"), ("8181\n", "int")])
def test_yaml_that_is_not_mapping_rejected(tmp_path: Path, text: str, kind: str) -> None:
    path = _config(tmp_path, text)

    with pytest.raises(ConfigError, match=f"must be a YAML mapping .* not a {kind}"):
        load_settings(path)


@pytest.mark.parametrize("text", ["1: 2\n", "port: 8181\nnull: x\n", "true: 1\n"])
def test_non_string_top_level_key_rejected(tmp_path: Path, text: str) -> None:
    path = _config(tmp_path, text)

    with pytest.raises(ConfigError, match="which is not a setting name"):
        load_settings(path)


def test_settings_file_not_utf8_rejected(tmp_path: Path) -> None:
    path = _config(tmp_path, b"port: 8181\nhost: \xff\n")

    with pytest.raises(ConfigError, match="is not UTF-8 text: invalid byte at offset 17"):
        load_settings(path)


def test_empty_settings_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, ""))

    assert settings.port == 8080


def test_settings_file_values_used(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, "port: 8181\nstorage:\n  local_root: data\n"))

    assert settings.port == 8181
    assert settings.storage.local_root == Path("data")


def test_environment_json_error_names_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTRY_AUTH__DATASETS", "[{")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert "cannot parse CONSENTRY_AUTH__DATASETS" in str(caught.value)
    assert "JSON" in str(caught.value)


def test_invalid_option_names_option() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(port=99999)

    assert "port (from --port): Input should be less than or equal to 65535" in str(caught.value)


def test_invalid_variable_names_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTRY_PORT", "99999")

    with pytest.raises(ConfigError, match=r"port \(from CONSENTRY_PORT\)"):
        load_settings()


def test_invalid_file_value_names_file(tmp_path: Path) -> None:
    path = _config(tmp_path, "port: 99999\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert f"port (from {path})" in str(caught.value)


def test_option_named_over_file_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTRY_PORT", "8081")
    path = _config(tmp_path, "port: 8082\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path, port=-1)

    assert "port (from --port)" in str(caught.value)
    assert "CONSENTRY_PORT" not in str(caught.value)


def test_section_check_names_every_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTRY_STORAGE__BACKEND", "s3")
    path = _config(tmp_path, "storage:\n  s3_prefix: cohort\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert f"storage (from CONSENTRY_STORAGE__BACKEND and {path})" in str(caught.value)
    assert "storage.s3_bucket is required" in str(caught.value)


def test_unknown_nested_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTRY_STORAGE__BAKEND", "s3")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert "storage.bakend (from CONSENTRY_STORAGE__BAKEND)" in str(caught.value)


@pytest.mark.parametrize(("variable", "closest"), [
    ("CONSENTRY_PROT", "CONSENTRY_PORT"),
    ("consentry_prot", "CONSENTRY_PORT"),
    ("CONSENTRY_STORAG__BACKEND", "CONSENTRY_STORAGE__BACKEND"),
    ("CONSENTRY_LOGLEVEL", "CONSENTRY_LOG_LEVEL"),
])
def test_unknown_variable_names_closest(
    monkeypatch: pytest.MonkeyPatch, variable: str, closest: str
) -> None:
    monkeypatch.setenv(variable, "1")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert f"unknown environment variable {variable}:" in str(caught.value)
    assert f"the closest setting is {closest};" in str(caught.value)


def test_unknown_variable_without_close_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTRY_ZZZ", "1")

    with pytest.raises(ConfigError, match="CONSENTRY_ZZZ: no setting has a similar name"):
        load_settings()


@pytest.mark.parametrize("variable", sorted(NON_SETTING_VARIABLES))
def test_project_variables_accepted(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "1")

    assert load_settings().port == 8080


def test_worker_settings_variable_allowed() -> None:
    assert SETTINGS_ENVIRONMENT_VARIABLE in NON_SETTING_VARIABLES


def test_variables_used_in_repository_allowed() -> None:
    """Every CONSENTRY_ name in the code, tests and CI scripts is a setting or allowed."""
    root = Path(__file__).resolve().parents[2]
    # These two test files use misspelt names on purpose.
    skipped = {Path(__file__).resolve(), root / "tests" / "service" / "test_cli.py"}
    used: set[str] = set()
    for folder in (".ci", "benchmarks", "service", "tests", "adapters", "consent_chain"):
        for path in (root / folder).rglob("*"):
            if path in skipped or not path.is_file():
                continue
            if path.suffix in {"", ".py", ".lua", ".sh", ".ini"}:
                used.update(re.findall(r"\bCONSENTRY_[A-Z0-9_]*[A-Z0-9]", path.read_text(
                    encoding="utf-8", errors="replace")))
    setting_keys = {name.lower() for name in Settings.model_fields}
    unknown = sorted(
        name for name in used - NON_SETTING_VARIABLES
        if name.removeprefix("CONSENTRY_").split("__")[0].lower() not in setting_keys
    )

    assert unknown == []

