"""Read the YAML settings file, and name the source (option, variable, file) of a bad value."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

ENVIRONMENT_PREFIX = "CONSENTRY_"

# CONSENTRY_ variables that are not settings, so the settings check accepts them.
NON_SETTING_VARIABLES = frozenset({
    "CONSENTRY_ARTIFACTS",  # browser tests: folder for screenshots
    "CONSENTRY_BENCH_BEARER",  # benchmarks/wrk_bearer.lua: bearer token to send
    "CONSENTRY_BENCH_REPORT_LUA",  # benchmarks/wrk_bearer.lua: report script to load
    "CONSENTRY_CI_VENV",  # .ci/run: virtual environment to install into
    "CONSENTRY_EFFECTIVE_SETTINGS",  # service.app: settings passed to worker processes
    "CONSENTRY_TEST_DATA",  # tests and benchmarks: folder of the shared test files
})


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
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(
                f"settings file {path} has the key {key!r}, which is not a setting name; "
                "top-level keys are names such as port or storage"
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


def check_variable_names(environment: Mapping[str, str], setting_names: Collection[str]) -> None:
    """Reject a CONSENTRY_ variable whose first key names no setting, such as a misspelt PORT.

    pydantic-settings ignores such variables, so a typo would silently leave the
    default in place. Keys below the first (`CONSENTRY_STORAGE__BAKEND`) are
    rejected by the settings models themselves.
    """
    for name in sorted(environment):
        upper = name.upper()
        if not upper.startswith(ENVIRONMENT_PREFIX) or upper in NON_SETTING_VARIABLES:
            continue
        keys = upper[len(ENVIRONMENT_PREFIX):].lower().split("__")
        if keys[0] in setting_names:
            continue
        closest = difflib.get_close_matches(keys[0], setting_names, n=1)
        hint = (
            f"the closest setting is {variable_name([closest[0], *keys[1:]])}"
            if closest else "no setting has a similar name"
        )
        raise ConfigError(
            f"unknown environment variable {name}: {hint}; rename or unset it "
            "(the README's Settings table lists every variable)"
        )


@dataclass(frozen=True)
class SettingsSources:
    """The values each settings source gave, to tell a user where an invalid value came from.

    `options` are the command-line overrides, keyed by setting name; the option
    for key `workers` is `--workers`.
    """

    options: Mapping[str, Any]
    environment: Mapping[str, str]
    file: Path | None
    file_values: Mapping[str, Any]

    def describe(self, error: ValidationError) -> str:
        """Return every problem in `error` with its setting name and the source of its value."""
        problems = []
        for detail in error.errors():
            location = tuple(str(part) for part in detail["loc"])
            name = ".".join(location) or "settings"
            origin = self.origin(location)
            where = f" (from {origin})" if origin else ""
            problems.append(f"{name}{where}: {detail['msg']}")
        return "invalid settings: " + "; ".join(problems)

    def origin(self, location: Sequence[str]) -> str:
        """Name the sources of the value at `location`, highest priority first.

        A source that sets `location` or a key above it replaces lower sources, so
        it alone is named. For a check across several keys (a section's validator),
        every source that sets a key below `location` is named.
        """
        if not location:
            return ""
        candidates = [
            self._option(location),
            self._variable(location),
            str(self.file) if _has_value(self.file_values, location) else None,
        ]
        for candidate in candidates:
            if candidate is not None:
                return candidate
        below = self._variables_below(location)
        if _has_value_below(self.file_values, location):
            below.append(str(self.file))
        return " and ".join(below)

    def _option(self, location: Sequence[str]) -> str | None:
        key = location[0]
        return "--" + key.replace("_", "-") if key in self.options else None

    def _variable(self, location: Sequence[str]) -> str | None:
        names = {name.upper(): name for name in self.environment}
        for depth in range(len(location), 0, -1):
            name = variable_name(location[:depth])
            if name in names:
                return names[name]
        return None

    def _variables_below(self, location: Sequence[str]) -> list[str]:
        prefix = variable_name(location) + "__"
        return sorted(name for name in self.environment if name.upper().startswith(prefix))


def variable_name(location: Sequence[str]) -> str:
    """Return the environment variable of a setting, e.g. CONSENTRY_STORAGE__BACKEND."""
    return ENVIRONMENT_PREFIX + "__".join(part.upper() for part in location)


def _has_value(values: Mapping[str, Any], location: Sequence[str]) -> bool:
    """Return True if `values` sets `location`, or a key above it, to a value other than a
    mapping (a mapping is merged with the mappings of other sources)."""
    current: Any = values
    for part in location:
        if not isinstance(current, Mapping) or part not in current:
            return False
        current = current[part]
        if not isinstance(current, Mapping):
            return True
    return False


def _has_value_below(values: Mapping[str, Any], location: Sequence[str]) -> bool:
    current: Any = values
    for part in location:
        if not isinstance(current, Mapping) or part not in current:
            return False
        current = current[part]
    return isinstance(current, Mapping) and bool(current)
