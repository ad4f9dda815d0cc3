"""The cached parameter validator accepts what connexion's accepts, with clearer messages."""

from __future__ import annotations

import pytest
from connexion.validators import ParameterValidator

from service.handlers.validation import CachedParameterValidator

START = {"name": "start", "in": "query",
         "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295}}
NAME = {"name": "referenceName", "in": "query", "required": True,
        "schema": {"type": "string", "minLength": 1}}


@pytest.mark.parametrize(("param", "value"), [
    (START, 5), (START, -1), (START, 4294967296), (START, "abc"), (START, None),
    (NAME, "chr1"), (NAME, ""), (NAME, None),
])
def test_same_outcome_as_connexion(param: dict, value: object) -> None:
    expected = ParameterValidator.validate_parameter("query", value, param)

    for _ in range(2):
        result = CachedParameterValidator.validate_parameter("query", value, param)
        assert (result is None) == (expected is None)


@pytest.mark.parametrize(("param", "value", "message"), [
    (START, "abc", "query parameter 'start' must be an integer, got 'abc'"),
    (START, -5, "query parameter 'start' must be at least 0, got -5"),
    (START, 4294967296, "query parameter 'start' must be at most 4294967295, got 4294967296"),
    (NAME, "", "query parameter 'referenceName' must not be empty"),
    (NAME, None, "Missing query parameter 'referenceName'"),
])
def test_message_names_parameter(param: dict, value: object, message: str) -> None:
    assert CachedParameterValidator.validate_parameter("query", value, param) == message


def test_schemas_with_equal_text_share_one_validator() -> None:
    first = {"name": "a", "in": "query", "schema": {"type": "integer", "minimum": 3}}
    second = {"name": "b", "in": "query", "schema": {"type": "integer", "minimum": 3}}

    assert CachedParameterValidator.validate_parameter("query", 1, first) is not None
    assert CachedParameterValidator.validate_parameter("query", 1, second) is not None
    assert CachedParameterValidator.validate_parameter("query", 4, second) is None
