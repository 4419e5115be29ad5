"""Table indexes and savepoints: ``where`` answers exactly what a full scan would, in the same
order, after any sequence of writes; a rolled-back savepoint leaves the rows exactly as they were,
insertion order included (hypothesis)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from itertools import product
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlc.sandbox.epicor.entities import BY_NAME
from mlc.sandbox.epicor.odata import sort_value
from mlc.sandbox.epicor.tables import Key, Table

DETAILS = BY_NAME["GLBudgetDtls"]
#: Field sets the tests look rows up by: the parent key, part of it, and a column writes change.
LOOKUPS = (
    ("BalanceAcct",),
    ("BalanceAcct", "FiscalYearSuffix"),
    ("SegValue1",),
    ("FiscalPeriod", "SegValue1"),
)
#: Small domains, with values equal under the case-insensitive collation, so rows collide.
DOMAIN: dict[str, list[Any]] = {
    "BalanceAcct": ["a", "A", "b"],
    "FiscalYearSuffix": ["", "x", "X"],
    "FiscalPeriod": [1, 2],
    "SegValue1": ["s", "S", "t"],
    "BudgetAmt": [Decimal(0), Decimal("1.50"), Decimal(-2)],
}

rows = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in DOMAIN.items()})
operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), rows),
        st.tuples(st.just("update"), rows),
        st.tuples(st.just("delete"), rows),
        st.tuples(st.just("clear")),
    ),
    max_size=25,
)


def table() -> Table:
    return Table(DETAILS.row_type, DETAILS.keys)


def full(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Company": "EPIC06",
        "BookID": "MAIN",
        "BalanceType": "D",
        "FiscalYear": 2025,
        "FiscalCalendarID": "MAIN",
        "BudgetCodeID": "MAIN",
        **values,
    }


def scanned(t: Table, fields: tuple[str, ...], values: Mapping[str, Any]) -> list[Key]:
    """The rows a full scan in key order finds: what ``where`` answered before it had indexes."""
    return [
        t.key_of(row)
        for row in t.scan()
        if all(sort_value(row[name]) == sort_value(values[name]) for name in fields)
    ]


def found(t: Table, fields: tuple[str, ...], values: Mapping[str, Any]) -> list[Key]:
    return [t.key_of(row) for row in t.where(**{name: values[name] for name in fields})]


def check(t: Table) -> None:
    """Every lookup over the whole domain answers what a scan finds."""
    for fields in LOOKUPS:
        for combination in product(*(DOMAIN[name] for name in fields)):
            values = dict(zip(fields, combination, strict=True))
            assert found(t, fields, values) == scanned(t, fields, values), values


def contents(t: Table) -> list[tuple[Key, dict[str, Any]]]:
    return [(key, dict(stored)) for key, stored in t.rows.items()]


def apply(t: Table, operation: tuple[Any, ...]) -> None:
    kind = operation[0]
    if kind == "clear":
        t.clear()
        return
    values = full(operation[1])
    key = t.key_of(values)
    if kind == "insert":
        t.insert(values)
    elif kind == "update" and t.stored(key) is not None:
        t.update(key, {"SegValue1": values["SegValue1"], "BudgetAmt": values["BudgetAmt"]})
    elif kind == "delete" and t.stored(key) is not None:
        t.delete(key)


@settings(max_examples=150, deadline=None)
@given(seed=st.lists(rows, max_size=10), steps=operations)
def test_where_answers_what_a_scan_finds_after_any_writes(
    seed: list[dict[str, Any]], steps: list[tuple[Any, ...]]
) -> None:
    t = table()
    t.load(full(values) for values in seed)
    for operation in steps:
        check(t)
        apply(t, operation)
    check(t)


@settings(max_examples=150, deadline=None)
@given(seed=st.lists(rows, max_size=10), steps=operations)
def test_rolled_back_savepoint_restores_rows_and_their_order(
    seed: list[dict[str, Any]], steps: list[tuple[Any, ...]]
) -> None:
    t = table()
    t.load(full(values) for values in seed)
    check(t)
    before = contents(t)
    with t.savepoint() as savepoint:
        for operation in steps:
            apply(t, operation)
            check(t)
        t.roll_back(savepoint)
        assert contents(t) == before
        check(t)
        for operation in steps:
            apply(t, operation)
        after = contents(t)
        t.roll_back(savepoint)
        assert contents(t) == before, "a savepoint rolled back twice returns to the same rows"
        for operation in steps:
            apply(t, operation)
    assert contents(t) == after, "closing a savepoint keeps what was written"
    check(t)


def test_savepoints_do_not_nest_and_roll_back_only_while_open() -> None:
    t = table()
    t.insert(full({"BalanceAcct": "a", "FiscalPeriod": 1, "BudgetAmt": Decimal(1)}))
    with t.savepoint() as savepoint:
        with pytest.raises(RuntimeError, match="already open"):
            with t.savepoint():
                pass
    with pytest.raises(RuntimeError, match="not open"):
        t.roll_back(savepoint)
    assert [row["BudgetAmt"] for row in t.scan()] == [Decimal(1)]
