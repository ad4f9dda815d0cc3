"""The cached parameter validator returns the same results as connexion's own."""

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
def test_same_result_as_connexion(param: dict, value: object) -> None:
    expected = ParameterValidator.validate_parameter("query", value, param)

    for _ in range(2):
        assert CachedParameterValidator.validate_parameter("query", value, param) == expected


def test_schemas_with_equal_text_share_one_validator() -> None:
    first = {"name": "a", "in": "query", "schema": {"type": "integer", "minimum": 3}}
    second = {"name": "b", "in": "query", "schema": {"type": "integer", "minimum": 3}}

    assert CachedParameterValidator.validate_parameter("query", 1, first) is not None
    assert CachedParameterValidator.validate_parameter("query", 1, second) is not None
    assert CachedParameterValidator.validate_parameter("query", 4, second) is None
