"""OData query text: literals, keys, filters and the encoded query string."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlc.epicor.query import (
    ODataQuery,
    after_key,
    all_of,
    compare,
    datetime_literal,
    entity_key,
    literal,
    path_segment,
    string_literal,
)
from mlc.errors import UsageError
from mlc.sandbox.epicor.odata import compile_filter, parse_filter, tokenize


def test_string_literal_doubles_quotes() -> None:
    assert string_literal("O'Brien") == "'O''Brien'"
    assert string_literal("") == "''"
    assert string_literal("''") == "''''''"


@given(st.text())
def test_string_literal_reads_back_as_the_same_text(text: str) -> None:
    tokens = tokenize(string_literal(text))
    assert [(t.kind, t.text) for t in tokens[:-1]] == [("string", text)]


def test_datetime_literals() -> None:
    assert datetime_literal(datetime(2025, 1, 31)) == "2025-01-31T00:00:00"
    assert datetime_literal(datetime(2025, 1, 31, 10, 5, 7, 250000)) == (
        "2025-01-31T10:05:07.250000"
    )
    aware = datetime(2025, 1, 31, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert datetime_literal(aware) == "2025-01-31T10:00:00Z"
    assert datetime_literal(datetime(2025, 1, 31, tzinfo=UTC)) == "2025-01-31T00:00:00Z"


def test_other_literals() -> None:
    assert literal(None) == "null"
    assert literal(True) == "true"
    assert literal(42) == "42"
    assert literal(Decimal("1E+3")) == "1000"
    assert literal(Decimal("-0.50")) == "-0.50"
    assert literal(date(2025, 2, 1)) == "2025-02-01"
    with pytest.raises(UsageError, match="non-finite"):
        literal(Decimal("NaN"))


def test_compare_refuses_field_names_that_are_not_identifiers() -> None:
    assert compare("ChangeDate", "ge", datetime(2025, 1, 1)) == "ChangeDate ge 2025-01-01T00:00:00"
    with pytest.raises(UsageError, match="not a valid OData identifier"):
        compare("Name eq 'x' or 1 eq 1 or Name", "eq", "y")


def test_entity_key_is_positional_and_path_encoded() -> None:
    key = entity_key(["EPIC06", "MAIN", "1000|10|00"])
    assert key == "('EPIC06','MAIN','1000|10|00')"
    assert path_segment(key) == "('EPIC06','MAIN','1000%7C10%7C00')"
    assert entity_key(["EPIC06", 45]) == "('EPIC06',45)"
    assert path_segment(entity_key(["a/b c"])) == "('a%2Fb%20c')"


def test_after_key_expands_composite_keys_lexicographically() -> None:
    assert after_key(["A"], ["x"]) == "A gt 'x'"
    assert after_key(["A", "B", "C"], ["x", 2, "z"]) == (
        "(A ge 'x') and ((A gt 'x') or ((A eq 'x') and ((B gt 2) or ((B eq 2) and (C gt 'z')))))"
    )


_KEYS = st.tuples(st.sampled_from("abc"), st.integers(0, 3), st.sampled_from(["", "x", "y"]))


@given(_KEYS, st.lists(_KEYS, max_size=30))
def test_after_key_selects_exactly_the_rows_after_the_key(
    last: tuple[str, int, str], rows: list[tuple[str, int, str]]
) -> None:
    """Evaluated by the sandbox's OData filter engine, as a server would."""
    predicate = compile_filter(parse_filter(after_key(["A", "B", "C"], list(last))))
    selected = [row for row in rows if predicate(dict(zip("ABC", row, strict=True)))]
    assert selected == [row for row in rows if row > last]


def test_all_of_skips_empty_clauses() -> None:
    assert all_of(None, "") is None
    assert all_of("A eq 1", None) == "A eq 1"
    assert all_of("A eq 1", "B eq 2") == "(A eq 1) and (B eq 2)"


def test_encoded_query_keeps_plus_and_ampersand_inside_literals() -> None:
    query = ODataQuery(
        select=("A", "B"),
        filter=compare("A", "eq", "x+y & z"),
        orderby=("A", "B desc"),
        top=100,
        skip=200,
        count=True,
        params=(("Status", "A"), ("Status", "B")),
    )
    encoded = query.encode()
    assert "+" not in encoded
    assert " " not in encoded
    assert parse_qsl(encoded) == [
        ("Status", "A"),
        ("Status", "B"),
        ("$select", "A,B"),
        ("$filter", "A eq 'x+y & z'"),
        ("$orderby", "A,B desc"),
        ("$top", "100"),
        ("$skip", "200"),
        ("$count", "true"),
    ]


def test_query_refuses_bad_options() -> None:
    with pytest.raises(UsageError, match="direction"):
        ODataQuery(orderby=("A sideways",)).encode()
    with pytest.raises(UsageError, match=r"\$top must not be negative"):
        ODataQuery(top=-1).encode()
    with pytest.raises(UsageError, match="parameter name"):
        ODataQuery(params=(("a&b", "x"),)).encode()
