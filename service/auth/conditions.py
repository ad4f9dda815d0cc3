"""Evaluate visa `conditions`: a disjunction (outer list) of conjunctions of condition clauses.

Each clause names a visa `type` and one or more of `value`, `source` and `by` as
`const:<text>`, `pattern:<glob>` or `split_pattern:<glob>`. A clause is met when one
candidate visa matches all of its fields (GA4GH Passport 1.2, "conditions").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from service.auth.models import Visa

CLAUSE_FIELDS = frozenset({"value", "source", "by"})

Clause = Mapping[str, Any]
Conditions = tuple[tuple[Clause, ...], ...]


class ConditionError(ValueError):
    """A `conditions` claim is not a list of non-empty lists of objects."""


def parse_conditions(raw: Any) -> Conditions | None:
    """Check the DNF structure; return None when there are no conditions."""
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        raise ConditionError("conditions must be a list of lists of condition clauses")

    alternatives: list[tuple[Clause, ...]] = []
    for alternative in raw:
        if not isinstance(alternative, list) or not alternative:
            raise ConditionError("each entry of conditions must be a non-empty list of clauses")
        if not all(isinstance(clause, dict) for clause in alternative):
            raise ConditionError("each condition clause must be a JSON object")
        alternatives.append(tuple(dict(clause) for clause in alternative))
    return tuple(alternatives)


def pattern_matches(pattern: str, text: str) -> bool:
    """Match `text` in full against a glob where `?` is one character and `*` is any run.

    There is no escape character. The loop backtracks only to the last `*`, so it takes
    at most len(pattern) * len(text) steps on any input.
    """
    p = t = 0
    star = -1
    resume = 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif p < len(pattern) and pattern[p] in ("?", text[t]):
            p += 1
            t += 1
        elif star >= 0:
            p = star + 1
            resume += 1
            t = resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def field_matches(expression: str, actual: str | None) -> bool:
    """Match one clause field such as `const:so` against a visa field; unknown prefixes fail."""
    if actual is None:
        return False
    prefix, separator, operand = expression.partition(":")
    if not separator:
        return False
    if prefix == "const":
        return operand == actual
    if prefix == "pattern":
        return pattern_matches(operand, actual)
    if prefix == "split_pattern":
        return any(pattern_matches(operand, part) for part in actual.split(";"))
    return False


def clause_is_well_formed(clause: Clause) -> bool:
    """Return whether a clause has a `type` and at least one string `value`/`source`/`by` field."""
    visa_type = clause.get("type")
    if not isinstance(visa_type, str) or not visa_type:
        return False
    fields = {name: value for name, value in clause.items() if name != "type"}
    if not fields or not set(fields) <= CLAUSE_FIELDS:
        return False
    return all(isinstance(value, str) for value in fields.values())


def clause_matches(clause: Clause, visa: Visa) -> bool:
    """Return whether one visa satisfies every field of a well-formed clause."""
    if visa.type != clause["type"]:
        return False
    return all(
        field_matches(expression, getattr(visa, name))
        for name, expression in clause.items()
        if name != "type"
    )


def conditions_met(conditions: Conditions, candidates: Iterable[Visa]) -> bool:
    """Return whether any alternative has every clause matched by some candidate visa.

    The caller passes only valid, trusted visas without conditions of their own that
    belong to the same person as the visa carrying the conditions.
    """
    pool: Sequence[Visa] = tuple(candidates)
    for alternative in conditions:
        if not all(clause_is_well_formed(clause) for clause in alternative):
            continue
        if all(any(clause_matches(clause, visa) for visa in pool) for clause in alternative):
            return True
    return False
