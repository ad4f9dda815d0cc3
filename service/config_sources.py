"""Read the YAML settings file and turn its problems into one-line ConfigError messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """Invalid settings file or environment; the message names the key and the problem."""


def read_settings_file(path: Path) -> dict[str, Any]:
    """Parse the YAML settings file at `path` into a mapping of setting names to values."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"settings file {path} is not UTF-8 text: invalid byte at offset {exc.start}"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"settings file {path} is not valid YAML: {_yaml_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"settings file {path} must be a YAML mapping of setting names to values, "
            f"not a {type(data).__name__}"
        )
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    """Return the parser's problem with its 1-based line and column."""
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return str(error).replace("\n", " ")
    problem = f"{_position(error.problem_mark)}: {error.problem}"
    if error.context and error.context_mark is not None:
        problem += f" ({error.context} that starts at {_position(error.context_mark)})"
    return problem


def _position(mark: yaml.Mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"
