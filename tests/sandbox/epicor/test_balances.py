"""Lazy GL period balances: layout, determinism, scaling, and filter narrowing (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mlc.sandbox.common.chart import GL_ACCOUNTS
from mlc.sandbox.epicor.balances import KEY_FIELDS, LAST_CHANGE, BalanceStore, plan_universe
from mlc.sandbox.epicor.odata import (
    Compare,
    Literal,
    Prop,
    compile_filter,
    parse_filter,
    rename,
    validate_filter,
)
from mlc.sandbox.epicor.schema import Edm

SEEDED_AT = datetime(2025, 6, 30, 12)


def store(rows: int | None, seed: int = 7) -> BalanceStore:
    return BalanceStore(plan_universe(rows, 2025), seed, 1_000, SEEDED_AT)


def test_natural_size_is_every_chart_account_by_two_years_by_13_periods() -> None:
    balances = store(None)
    assert balances.size() == len(GL_ACCOUNTS) * 2 * 13
    assert balances.universe.years == (2024, 2025)
    keys = [tuple(balances.row(i)[k] for k in KEY_FIELDS) for i in range(balances.size())]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_rows_are_deterministic_and_balance() -> None:
    first, again, other = store(None), store(None), store(None, seed=8)
    for index in (0, 13, 1000, 3587):
        row = dict(first.row(index))
        assert row == dict(again.row(index))
        assert row["BalanceAmt"] == row["DebitAmt"] - row["CreditAmt"]
        assert row["OpenBalance"] == (row["BalanceAmt"] if row["FiscalPeriod"] == 0 else 0)
        assert row["SysRevID"] == 1_000 + index
        assert first.row(index)[LAST_CHANGE] <= SEEDED_AT
    assert dict(first.row(14)) != dict(other.row(14))


def test_the_same_key_has_the_same_amounts_whatever_the_size() -> None:
    small, large = store(None), store(200_000)
    index = small.index_of("6100|22|10", 2025, 7)
    assert index is not None
    other = large.index_of("6100|22|10", 2025, 7)
    assert other is not None
    assert small.row(index)["BalanceAmt"] == large.row(other)["BalanceAmt"]


def test_rows_option_gives_exactly_that_many_rows() -> None:
    for rows in (0, 1, 500, 3588, 3589, 100_000, 1_000_000):
        balances = store(rows)
        assert balances.size() == rows
        if rows:
            last = balances.row(rows - 1)
            assert last["BalanceAcct"] <= balances.universe.accounts[-1].code
    million = store(1_000_000)
    assert len(million.universe.accounts) == 5_400
    assert million.universe.years[-1] == 2025 and len(million.universe.years) == 15


def test_writes_overlay_without_moving_rows() -> None:
    balances = store(None)
    index = balances.index_of("1000|11|00", 2025, 3)
    assert index is not None
    before = balances.row(index)["BalanceAmt"]
    balances.write(index, {"BalanceAmt": before + Decimal("5"), "SysRevID": 99_999})
    assert balances.row(index)["BalanceAmt"] == before + 5
    assert [row.index for row in balances.by_revision(None)][-1] == index  # type: ignore[attr-defined]
    balances.reset()
    assert balances.row(index)["BalanceAmt"] == before


ACCOUNTS = [a.account for a in GL_ACCOUNTS] + ["6", "1000", "9", "", "6100|2", "ZZZ"]
OPS = ("eq", "ne", "gt", "ge", "lt", "le")
LEAVES = st.one_of(
    st.tuples(
        st.just("BalanceAcct"),
        st.sampled_from(OPS),
        st.sampled_from(ACCOUNTS).map(lambda a: f"'{a}'"),
    ),
    st.tuples(st.just("FiscalYear"), st.sampled_from(OPS), st.integers(2022, 2027).map(str)),
    st.tuples(st.just("FiscalPeriod"), st.sampled_from(OPS), st.integers(-1, 14).map(str)),
    st.tuples(st.just("SysRevID"), st.sampled_from(OPS), st.integers(900, 8_000).map(str)),
    st.tuples(
        st.sampled_from(["Company", "BookID", "BalanceType"]),
        st.sampled_from(["eq", "ne"]),
        st.sampled_from(["'EPIC06'", "'MAIN'", "'D'", "'d'", "'X'"]),
    ),
    st.tuples(st.just("BalanceAmt"), st.sampled_from(OPS), st.integers(-(10**6), 10**6).map(str)),
    st.tuples(
        st.just("LastChange"),
        st.sampled_from(OPS),
        st.datetimes(datetime(2023, 12, 1), datetime(2025, 8, 1)).map(
            lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")
        ),
    ),
)


def _expr(depth: int) -> st.SearchStrategy[str]:
    leaf = LEAVES.map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    if depth == 0:
        return leaf
    sub = _expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        sub.map(lambda e: f"not ({e})"),
    )


WRITTEN = store(6_000)
for _i, _index in enumerate((5, 700, 3_000, 5_999)):
    WRITTEN.write(_index, {"SysRevID": 50_000 + _i, LAST_CHANGE: SEEDED_AT + timedelta(hours=1)})
BRUTE: list[dict[str, Any]] = [
    {
        **{k: WRITTEN.row(i)[k] for k in (*KEY_FIELDS, "SysRevID", "BalanceAmt", LAST_CHANGE)},
        "i": i,
    }
    for i in range(WRITTEN.size())
]
FIELDS = {**dict(WRITTEN.fields), "LastChange": Edm.DATETIME}


@settings(max_examples=150, deadline=None)
@given(_expr(2))
def test_narrowed_scan_finds_exactly_what_a_full_scan_finds(expression: str) -> None:
    parsed = parse_filter(expression)
    validate_filter(parsed, FIELDS, WRITTEN.type_name)
    node = rename(parsed, {"LastChange": LAST_CHANGE})
    predicate = compile_filter(node)
    expected = [row["i"] for row in BRUTE if predicate(row)]
    got = [row.index for row in WRITTEN.scan(node) if predicate(row)]  # type: ignore[attr-defined]
    assert got == expected


def test_narrowing_skips_rows_for_key_and_revision_filters() -> None:
    balances = store(1_000_000)
    node = parse_filter("BalanceAcct eq '6100|22|10' and FiscalYear eq 2025")
    candidates = list(balances.scan(node))
    assert len(candidates) == 13
    newest = parse_filter(f"SysRevID gt {balances.revision_end - 3}")
    assert len(list(balances.scan(newest))) == 2
    nothing_new = parse_filter(f"SysRevID gt {balances.revision_end}")
    assert list(balances.scan(nothing_new)) == []
    changed_since_seed = Compare("gt", Prop(LAST_CHANGE), Literal(SEEDED_AT, Edm.DATETIME))
    assert list(balances.scan(changed_since_seed)) == []
    balances.write(42, {LAST_CHANGE: SEEDED_AT + timedelta(seconds=1), "SysRevID": 10**9})
    assert [row.index for row in balances.scan(changed_since_seed)] == [42]  # type: ignore[attr-defined]


SMALL = store(600)
SMALL.write(7, {"SysRevID": 90_000, LAST_CHANGE: SEEDED_AT + timedelta(minutes=5)})
SMALL_ROWS: list[dict[str, Any]] = [
    {
        **{k: SMALL.row(i)[k] for k in (*KEY_FIELDS, "SysRevID", LAST_CHANGE)},
        "i": i,
    }
    for i in range(SMALL.size())
]


def _boundaries() -> list[tuple[str, Any]]:
    geo = SMALL.geometry
    moments = [t + timedelta(seconds=s) for t in sorted(set(geo.changed_at)) for s in (-1, 0)]
    codes = [a.code for a in SMALL.universe.accounts]
    return (
        [(LAST_CHANGE, moment) for moment in moments]
        + [("SysRevID", 1_000 + i) for i in (-1, 0, 1, 299, 300, 598, 599, 600)]
        + [("FiscalYear", year) for year in (2023, 2024, 2025, 2026)]
        + [("FiscalPeriod", period) for period in (-1, 0, 1, 11, 12, 13)]
        + [("BalanceAcct", code) for code in (codes[0], codes[11], codes[-1], "2", "0", "9")]
    )


def test_every_leaf_is_narrowed_exactly_at_its_boundaries() -> None:
    for field, value in _boundaries():
        edm = Edm.DATETIME if isinstance(value, datetime) else Edm.STRING
        if isinstance(value, int):
            edm = Edm.INT64
        for op in OPS:
            node = Compare(op, Prop(field), Literal(value, edm))
            predicate = compile_filter(node)
            expected = [row["i"] for row in SMALL_ROWS if predicate(row)]
            got = [row.index for row in SMALL.scan(node) if predicate(row)]  # type: ignore[attr-defined]
            assert got == expected, (field, op, value)
