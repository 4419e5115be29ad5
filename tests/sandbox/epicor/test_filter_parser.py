"""The $filter language: parse, type-check and evaluate; property tests with hypothesis."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlc.sandbox.epicor.errors import EpicorError
from mlc.sandbox.epicor.odata import (
    BoolOp,
    Compare,
    Literal,
    Node,
    Not,
    Prop,
    compile_filter,
    parse_filter,
    validate_filter,
)
from mlc.sandbox.epicor.schema import Edm, make_row_type

ROW = make_row_type(
    "Sample",
    [
        ("Name", Edm.STRING),
        ("Year", Edm.INT32),
        ("Amount", Edm.DECIMAL),
        ("Rev", Edm.INT64),
        ("When", Edm.DATETIME),
        ("Flag", Edm.BOOLEAN),
    ],
)
OPS = ("eq", "ne", "gt", "ge", "lt", "le")


def check(text: str) -> Node:
    node = parse_filter(text)
    validate_filter(node, ROW, ROW.qualified)
    return node


def test_precedence_not_over_and_over_or() -> None:
    node = check("Year eq 1 or Year eq 2 and not Flag")
    assert node == BoolOp(
        "or",
        Compare("eq", Prop("Year"), Literal(1, Edm.INT32)),
        BoolOp("and", Compare("eq", Prop("Year"), Literal(2, Edm.INT32)), Not(Prop("Flag"))),
    )


def test_literals() -> None:
    assert check("Name eq 'O''Brien'") == Compare(
        "eq", Prop("Name"), Literal("O'Brien", Edm.STRING)
    )
    assert check("Amount gt -1.25").right == Literal(Decimal("-1.25"), Edm.DECIMAL)  # type: ignore[union-attr]
    assert check("Rev gt 9000000000").right == Literal(9_000_000_000, Edm.INT64)  # type: ignore[union-attr]
    assert check("When eq null").right == Literal(None, None)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "literal",
    [
        "2025-03-01T10:00:00",
        "2025-03-01T10:00:00Z",
        "2025-03-01T12:00:00+02:00",
        "2025-03-01T05:00:00-05:00",
        "2025-03-01T10:00:00.000Z",
    ],
)
def test_datetimes_with_and_without_zone_mean_the_same_utc_moment(literal: str) -> None:
    node = check(f"When eq {literal}")
    assert node.right == Literal(datetime(2025, 3, 1, 10), Edm.DATETIME)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Year eq", "Expression expected at position 7"),
        ("(Year eq 1", "')' or operator expected at position 10"),
        ("Year eq 1)", "Syntax error at position 9"),
        ("Name eq 'x", "unterminated string literal"),
        ("Name eq 1", "'Edm.String' and 'Edm.Int32'"),
        ("Flag gt true", "incompatible types"),
        ("Nope eq 1", "Could not find a property named 'Nope' on type 'Erp.Tablesets.SampleRow'"),
        ("Year", "single boolean value"),
        ("Year eq 1 and 5", "incompatible types"),
        ("frobnicate(Name)", "unknown function"),
        ("startswith(Year, 'x')", "No function signature"),
        ("When eq datetime'2025-01-01T00:00:00'", "typed string literals"),
        ("When eq 2025-13-45T00:00:00", "DateTimeOffset"),
        ("Year eq 1 # 2", "not valid at position 10"),
        ("Year EQ 1", "Syntax error"),
    ],
)
def test_errors_are_400_odata_exceptions(text: str, fragment: str) -> None:
    with pytest.raises(EpicorError) as caught:
        check(text)
    assert caught.value.status == 400
    assert caught.value.error_type == "Microsoft.OData.ODataException"
    assert fragment in caught.value.message


def test_null_and_case_insensitive_semantics() -> None:
    row = {
        "Name": "Acme",
        "Year": 2025,
        "Amount": Decimal("10.50"),
        "Rev": 5,
        "When": None,
        "Flag": True,
    }
    assert compile_filter(check("Name eq 'ACME'"))(row)
    assert compile_filter(check("When eq null and not (When gt 2020-01-01)"))(row)
    assert compile_filter(check("Amount ge 10.5 and Amount lt 11"))(row)
    assert compile_filter(check("contains(tolower(Name),'cm') and length(Name) eq 4"))(row)
    assert not compile_filter(check("Flag eq false or year(When) eq 2025"))(row)


def _render_literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
leaves = st.one_of(
    st.tuples(st.just("Name"), st.sampled_from(OPS), names),
    st.tuples(st.just("Year"), st.sampled_from(OPS), st.integers(-3000, 3000)),
    st.tuples(st.just("Rev"), st.sampled_from(OPS), st.integers(0, 2**40)),
)


def _tree(depth: int) -> st.SearchStrategy[tuple[Any, ...]]:
    if depth == 0:
        return leaves.map(lambda leaf: ("leaf", *leaf))
    sub = _tree(depth - 1)
    return st.one_of(
        sub,
        st.tuples(st.sampled_from(["and", "or"]), sub, sub),
        st.tuples(st.just("not"), sub),
    )


def _text(tree: tuple[Any, ...]) -> str:
    if tree[0] == "leaf":
        return f"{tree[1]} {tree[2]} {_render_literal(tree[3])}"
    if tree[0] == "not":
        return f"not ({_text(tree[1])})"
    return f"({_text(tree[1])}) {tree[0]} ({_text(tree[2])})"


def _python(tree: tuple[Any, ...], row: dict[str, Any]) -> bool:
    if tree[0] == "leaf":
        left, right = row[tree[1]], tree[3]
        if isinstance(left, str):
            left, right = left.casefold(), right.casefold()
        outcome: bool = {
            "eq": left == right,
            "ne": left != right,
            "gt": left > right,
            "ge": left >= right,
            "lt": left < right,
            "le": left <= right,
        }[tree[2]]
        return outcome
    if tree[0] == "not":
        return not _python(tree[1], row)
    if tree[0] == "and":
        return _python(tree[1], row) and _python(tree[2], row)
    return _python(tree[1], row) or _python(tree[2], row)


@settings(max_examples=300, deadline=None)
@given(
    tree=_tree(3),
    name=names,
    year=st.integers(-3000, 3000),
    rev=st.integers(0, 2**40),
)
def test_parsed_filters_evaluate_like_python(
    tree: tuple[Any, ...], name: str, year: int, rev: int
) -> None:
    row = {
        "Name": name,
        "Year": year,
        "Rev": rev,
        "Amount": Decimal(0),
        "When": None,
        "Flag": False,
    }
    predicate = compile_filter(check(_text(tree)))
    assert bool(predicate(row)) == _python(tree, row)


@given(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30))
def test_any_string_round_trips_through_a_quoted_literal(text: str) -> None:
    node = check(f"Name eq {_render_literal(text)}")
    assert node == Compare("eq", Prop("Name"), Literal(text, Edm.STRING))


@given(st.text(max_size=25))
def test_garbage_never_crashes_the_parser(text: str) -> None:
    try:
        check(text)
    except EpicorError as error:
        assert error.status == 400
