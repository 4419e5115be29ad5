"""The export parser, period names read back, and the direction rules."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlc.config import FlowConfig
from mlc.flows.outbound.export import (
    ExportFormatError,
    SourceValue,
    decode_value,
    read_export,
    read_rows,
)
from mlc.flows.outbound.options import DEFAULT_COLUMNS, outbound_spec
from mlc.flows.outbound.periods import FiscalPeriod, PeriodReader, period_containing
from mlc.flows.outbound.rules import DirectionRules, TypedValue, Verdict, parse_amount
from mlc.flows.periods import PeriodNaming

HEADER = ["Account", "Cost Center", "Period", "Version", "Amount"]


def _csv(rows: list[list[str]]) -> io.StringIO:
    """The rows as CSV text, iterated the way an open file is (lines end at ``\n`` only)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return io.StringIO(buffer.getvalue(), newline="")


def test_rows_are_read_by_header_name_in_any_column_order() -> None:
    lines = _csv(
        [
            ["Period", "Amount", "Cost Center", "Version", "Account", "Extra"],
            ["Mar 26", "1200.50", "21", "Budget", "6100", "x"],
            ["Apr 26", "-5", "21", "Budget", '61"00', "y"],
        ]
    )
    values = list(read_rows(lines, DEFAULT_COLUMNS, "Budget", "export 'E'"))
    assert values == [
        SourceValue(line=2, account="6100", cost_center="21", period="Mar 26", version="Budget",
                    amount="1200.50"),
        SourceValue(line=3, account='61"00', cost_center="21", period="Apr 26", version="Budget",
                    amount="-5"),
    ]  # fmt: skip
    assert values[0].key("budget-to-gl") == "budget-to-gl:Budget|6100|21|Mar 26"
    assert decode_value(values[1].encode()) == values[1]


def test_a_missing_header_names_what_is_there() -> None:
    lines = _csv([["Account", "Centre", "Period", "Amount"], ["1", "2", "Mar 26", "3"]])
    with pytest.raises(ExportFormatError) as caught:
        list(read_rows(lines, DEFAULT_COLUMNS, "Budget", "anaplan.fpa export 'E'"))
    assert str(caught.value) == (
        "anaplan.fpa export 'E': the header has no column 'Cost Center' (cost_center); it has "
        "'Account', 'Centre', 'Period', 'Amount': set the flow's columns"
    )


def test_without_a_version_column_rows_carry_the_flow_version_and_short_rows_are_errors() -> None:
    lines = _csv([["Account", "Cost Center", "Period", "Amount"], ["6100", "21", "Mar 26"]])
    (value,) = read_rows(lines, DEFAULT_COLUMNS, "Forecast", "E")
    assert value.version == "Forecast"
    assert value.error == "line 2: 3 fields, the header has 4"


def test_an_empty_file_and_bad_encoding_are_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ExportFormatError, match="the file is empty"):
        list(read_export(empty, DEFAULT_COLUMNS, "Budget", encoding="utf-8", where="E"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(HEADER).encode() + b"\n6100,21,M\xe4r 26,Budget,1\n")
    with pytest.raises(ExportFormatError, match="not utf-8 text at byte"):
        list(read_export(latin, DEFAULT_COLUMNS, "Budget", encoding="utf-8", where="E"))
    assert [v.period for v in read_export(latin, DEFAULT_COLUMNS, "Budget",
                                          encoding="latin-1", where="E")] == ["Mär 26"]  # fmt: skip


cell_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"))


@settings(deadline=None)
@given(st.lists(st.tuples(cell_text, cell_text, cell_text, cell_text), max_size=20))
def test_any_cell_text_survives_the_round_trip(rows: list[tuple[str, str, str, str]]) -> None:
    written = [HEADER] + [[a, c, p, "Budget", amount] for a, c, p, amount in rows]
    values = list(read_rows(_csv(written), DEFAULT_COLUMNS, "Budget", "E"))
    assert [(v.account, v.cost_center, v.period, v.amount, v.error) for v in values] == [
        (a.strip(), c.strip(), p.strip(), amount.strip(), "") for a, c, p, amount in rows
    ]
    assert [v.line for v in values] == sorted({v.line for v in values})


def test_period_names_are_read_back_to_the_nearest_century() -> None:
    reader = PeriodReader(PeriodNaming("{mon} {yy}", 1), 2026)
    assert reader.read("Mar 26") == FiscalPeriod(2026, 3)
    assert reader.read("Dec 75") == FiscalPeriod(2075, 12)
    assert reader.read("Jan 77") == FiscalPeriod(1977, 1)
    assert reader.last_day(FiscalPeriod(2024, 2)) == dt.date(2024, 2, 29)
    with pytest.raises(ValueError, match="does not match period_format"):
        reader.read("Q1 26")


def test_a_fiscal_year_starting_in_july_is_named_by_its_end() -> None:
    reader = PeriodReader(PeriodNaming("{mon} {yy}", 7), 2026)
    assert reader.read("Jul 25") == FiscalPeriod(2026, 1)
    assert reader.read("Jun 26") == FiscalPeriod(2026, 12)
    assert reader.last_day(FiscalPeriod(2026, 1)) == dt.date(2025, 7, 31)
    assert period_containing(dt.date(2025, 7, 1), 7) == FiscalPeriod(2026, 1)
    assert period_containing(dt.date(2026, 3, 15), 7) == FiscalPeriod(2026, 9)
    assert period_containing(dt.date(2026, 3, 15), 1) == FiscalPeriod(2026, 3)


def test_amounts_are_plain_numbers_rounded_half_up() -> None:
    assert parse_amount("1234.565", 2) == Decimal("1234.57")
    assert parse_amount("-0.005", 2) == Decimal("-0.01")
    assert parse_amount("1E+3", 2) == Decimal("1000.00")
    for bad in ("1,234.50", "$5", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            parse_amount(bad, 2)


def _rules(**options: object) -> DirectionRules:
    spec = outbound_spec(
        "f", FlowConfig(kind="budget-to-gl", source="anaplan.a", target="epicor.e",
                        options=options)  # type: ignore[arg-type]
    )  # fmt: skip
    return DirectionRules.from_options(spec.options, dt.date(2026, 4, 10))


def _value(period: str = "May 26", amount: str = "10", version: str = "Budget") -> SourceValue:
    return SourceValue(line=7, account="6100", cost_center="21", period=period,
                       version=version, amount=amount)  # fmt: skip


def test_direction_rules_skip_other_versions_outside_the_window_and_closed_periods() -> None:
    rules = _rules(period_from="current", period_to="2026-12", closed_periods=["2026-06"])
    assert rules.judge(_value()) == TypedValue(FiscalPeriod(2026, 5), Decimal("10.00"))
    assert rules.judge(_value("Apr 26")) == TypedValue(FiscalPeriod(2026, 4), Decimal("10.00"))
    assert rules.judge(_value(version="Actual")) == Verdict(
        "skipped", "version 'Actual' may not flow back (allowed: Budget)"
    )
    assert _rules(allowed_versions=["Budget", "Forecast"]).judge(
        _value(version="Forecast")
    ) == Verdict("skipped", "version 'Forecast' is not this flow's version 'Budget'")
    assert rules.judge(_value("Mar 26")) == Verdict(
        "skipped", "fiscal period 2026-03 is before period_from 2026-04"
    )
    assert rules.judge(_value("Jan 27")) == Verdict(
        "skipped", "fiscal period 2027-01 is after period_to 2026-12"
    )
    assert rules.judge(_value("Jun 26")) == Verdict(
        "skipped", "fiscal period 2026-06 is closed (closed_periods)"
    )
    assert rules.judge(_value(amount="")) == Verdict("skipped", "line 7: blank amount")
    assert rules.judge(_value(amount="12,5")) == Verdict(
        "failed", "line 7: amount '12,5' is not a plain number"
    )
    assert rules.judge(_value("FY26")) == Verdict(
        "failed", "line 7: time period 'FY26' does not match period_format '{mon} {yy}'"
    )
