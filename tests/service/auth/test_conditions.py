"""Visa `conditions`: glob patterns, clause fields and DNF evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from service.auth.conditions import (
    ConditionError,
    conditions_met,
    field_matches,
    parse_conditions,
    pattern_matches,
)
from service.auth.models import Visa


def make_visa(**fields: Any) -> Visa:
    values: dict[str, Any] = {
        "type": "AffiliationAndRole",
        "value": "faculty@uni.example.org",
        "source": "https://uni.example.org",
        "by": "so",
        "iss": "https://visas.example.org",
        "sub": "alice",
        "visa_id": "v1",
        "iat": 0.0,
        "exp": 10.0,
        "asserted": 0.0,
    }
    values.update(fields)
    return Visa(**values)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("faculty@*", "faculty@uni.example.org", True),
        ("faculty@*", "student@uni.example.org", False),
        ("*", "", True),
        ("?", "", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("*.org", "https://x.org", True),
        ("*.org", "https://x.org/", False),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "aXXcYYb", False),
        ("Faculty@*", "faculty@uni", False),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        ("**", "anything", True),
        ("a\\*", "a\\bc", True),
    ],
)
def test_pattern_matches(pattern: str, text: str, expected: bool) -> None:
    assert pattern_matches(pattern, text) is expected


def test_pattern_backtracking_is_bounded() -> None:
    text = "a" * 5000

    assert not pattern_matches("*a*a*a*a*a*b", text)


@pytest.mark.parametrize(
    ("expression", "actual", "expected"),
    [
        ("const:so", "so", True),
        ("const:so", "SO", False),
        ("const:", "", True),
        ("pattern:s?", "so", True),
        ("regex:.*", "so", False),
        ("so", "so", False),
        ("const:so", None, False),
        ("split_pattern:123,https:%2F%2Fexample?.org", "001,a;123,https:%2F%2Fexample2.org", True),
        ("split_pattern:123,*", "001,a;456,b", False),
        ("pattern:a;b", "a;b", True),
    ],
)
def test_field_matches(expression: str, actual: str | None, expected: bool) -> None:
    assert field_matches(expression, actual) is expected


@pytest.mark.parametrize("raw", [None, []])
def test_empty_conditions_are_none(raw: Any) -> None:
    assert parse_conditions(raw) is None


@pytest.mark.parametrize(
    "raw",
    [{"type": "x"}, [{"type": "x"}], [[]], [["clause"]], "const:x"],
)
def test_malformed_conditions_raise(raw: Any) -> None:
    with pytest.raises(ConditionError):
        parse_conditions(raw)


def conditions(raw: list[list[dict[str, str]]]) -> Any:
    parsed = parse_conditions(raw)
    assert parsed is not None
    return parsed


def test_or_of_alternatives() -> None:
    parsed = conditions(
        [
            [{"type": "ResearcherStatus", "value": "const:https://doi.org/x"}],
            [{"type": "AffiliationAndRole", "value": "pattern:faculty@*"}],
        ]
    )

    assert conditions_met(parsed, [make_visa()])


def test_and_needs_every_clause() -> None:
    parsed = conditions(
        [
            [
                {"type": "AffiliationAndRole", "value": "pattern:faculty@*"},
                {"type": "ResearcherStatus", "value": "const:https://doi.org/x"},
            ]
        ]
    )

    assert not conditions_met(parsed, [make_visa()])


def test_and_met_by_two_visas() -> None:
    parsed = conditions(
        [
            [
                {"type": "AffiliationAndRole", "value": "pattern:faculty@*"},
                {"type": "ResearcherStatus", "value": "const:https://doi.org/x"},
            ]
        ]
    )
    status = make_visa(type="ResearcherStatus", value="https://doi.org/x")

    assert conditions_met(parsed, [make_visa(), status])


def test_clause_fields_match_single_visa() -> None:
    parsed = conditions(
        [[{"type": "AffiliationAndRole", "value": "const:faculty@a.org", "by": "const:so"}]]
    )
    first = make_visa(value="faculty@a.org", by="system")
    second = make_visa(value="student@a.org", by="so")

    assert not conditions_met(parsed, [first, second])


def test_missing_by_never_matches() -> None:
    parsed = conditions([[{"type": "AffiliationAndRole", "by": "pattern:*"}]])

    assert not conditions_met(parsed, [make_visa(by=None)])


def test_type_must_match() -> None:
    parsed = conditions([[{"type": "ResearcherStatus", "value": "pattern:*"}]])

    assert not conditions_met(parsed, [make_visa()])


@pytest.mark.parametrize(
    "clause",
    [
        {"value": "pattern:*"},
        {"type": "AffiliationAndRole"},
        {"type": "AffiliationAndRole", "asserted": "const:0"},
        {"type": "AffiliationAndRole", "conditions": "const:x"},
        {"type": "AffiliationAndRole", "value": 5},
    ],
)
def test_ill_formed_clause_never_matches(clause: dict[str, Any]) -> None:
    parsed = parse_conditions([[clause]])
    assert parsed is not None

    assert not conditions_met(parsed, [make_visa()])


def test_no_candidates_not_met() -> None:
    parsed = conditions([[{"type": "AffiliationAndRole", "value": "pattern:*"}]])

    assert not conditions_met(parsed, [])
