"""Property-based tests (Hypothesis): form validation and expression translation on any input."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.bpmn.expressions import check_expression, evaluate
from engine.bpmn.forms import validate
from engine.errors import ExpressionError, ValidationFailed
from tests.engine.bpmn.test_forms import FIELDS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
field_ids = st.sampled_from([f["id"] for f in FIELDS] + ["extra", "__class__", ""])


@given(st.dictionaries(field_ids, json_values, max_size=8))
@settings(max_examples=300, deadline=None)
def test_form_validation_accepts_or_names_the_fields_never_anything_else(data: dict[str, Any]) -> None:
    declared = {f["id"]: f for f in FIELDS}
    try:
        cleaned = validate(FIELDS, data)
    except ValidationFailed as failed:
        assert failed.fields and all(isinstance(m, str) for m in failed.fields.values())
        return
    assert set(cleaned) <= set(declared) and set(data) <= set(declared)
    kinds = {"string": str, "date": str, "enum": str, "boolean": bool, "long": int, "double": (int, float)}
    for key, value in cleaned.items():
        assert isinstance(value, kinds[declared[key]["type"]]) and not (declared[key]["type"] != "boolean" and isinstance(value, bool))


def _formula(depth: int) -> st.SearchStrategy[tuple[str, str]]:
    """Pairs of (JUEL text, equivalent Python) for boolean formulas over a, b and c."""
    leaf = st.sampled_from([("a", "a"), ("b", "b"), ("c", "c"), ("true", "True"), ("false", "False")])
    if depth == 0:
        return leaf

    def combine(parts: tuple[tuple[str, str], str, tuple[str, str]]) -> tuple[str, str]:
        (lj, lp), op, (rj, rp) = parts
        py = {"&&": "and", "||": "or", "==": "==", "!=": "!="}[op]
        return f"({lj} {op} {rj})", f"({lp} {py} {rp})"

    sub = _formula(depth - 1)
    return (
        leaf
        | st.tuples(sub, st.sampled_from(["&&", "||", "==", "!="]), sub).map(combine)
        | sub.map(lambda p: (f"!{p[0]}", f"(not {p[1]})"))
    )


@given(_formula(3), st.booleans(), st.booleans(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_juel_conditions_mean_what_camunda_means(formula: tuple[str, str], a: bool, b: bool, c: bool) -> None:
    juel, python = formula
    env = {"a": a, "b": b, "c": c}
    assert evaluate("${" + juel + "}", env) == eval(python, {}, env)


@given(st.text(max_size=60))
@settings(max_examples=500, deadline=None)
def test_any_text_is_checked_without_crashing_and_evaluates_safely(text: str) -> None:
    problem = check_expression(text)
    assert problem is None or isinstance(problem, str)
    if problem is None:
        with contextlib.suppress(
            ExpressionError, NameError, TypeError, ValueError, ZeroDivisionError, KeyError, IndexError, AttributeError, OverflowError
        ):
            evaluate(text, {"x": 1, "name": "n"})
