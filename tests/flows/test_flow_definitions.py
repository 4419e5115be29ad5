"""The pure parts of the inbound flows: options, period names, keys and amounts, mapping, dumps."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlc.config import FlowConfig
from mlc.errors import UsageError
from mlc.flows.dump import DumpFormatError, read_failures
from mlc.flows.mapping import CellMapper, CodeMap, decode_cell
from mlc.flows.options import GlActualsOptions, inbound_spec
from mlc.flows.periods import PeriodError, PeriodNaming, pattern_problems
from mlc.flows.records import AmountError, format_amount, from_micros, to_micros
from mlc.messages import MappedRow, QuarantinedRow, SourceCell

GL_COLUMNS = {
    "Account": "account",
    "Cost Center": "cost_center",
    "Period": "period",
    "Version": "version",
    "Amount": "amount",
}


def flow(**changes: object) -> FlowConfig:
    values: dict[str, object] = {
        "kind": "gl-actuals",
        "source": "epicor.main",
        "target": "anaplan.fpa",
        "columns": GL_COLUMNS,
        "options": {},
    }
    values.update(changes)
    return msgspec.convert(values, FlowConfig)


# --- period names -----------------------------------------------------------------------------


def test_default_pattern_names_calendar_months() -> None:
    naming = PeriodNaming()
    assert naming.name(2026, 3) == "Mar 26"
    assert naming.name(2025, 12) == "Dec 25"


def test_fiscal_year_starting_in_july_is_named_by_the_year_it_ends() -> None:
    naming = PeriodNaming("{mon} {yy}", fiscal_year_start_month=7)
    assert [naming.name(2026, p) for p in (1, 6, 7, 12)] == ["Jul 25", "Dec 25", "Jan 26", "Jun 26"]


def test_fiscal_placeholders_and_periods_that_are_not_months() -> None:
    assert PeriodNaming("FY{fyy} P{fpp}").name(2026, 3) == "FY26 P03"
    assert PeriodNaming("{fy}/{fp}").name(2026, 13) == "2026/13"
    with pytest.raises(PeriodError, match="fiscal period 13 of 2026 is not a month"):
        PeriodNaming().name(2026, 13)


@given(st.integers(1990, 2200), st.integers(1, 12))
def test_twelve_periods_get_twelve_distinct_names(year: int, start: int) -> None:
    naming = PeriodNaming("{mon} {yyyy}", start)
    names = [naming.name(year, period) for period in range(1, 13)]
    assert len(set(names)) == 12
    assert names[0].startswith(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                "Oct", "Nov", "Dec")[start - 1])  # fmt: skip


def test_pattern_problems_name_the_placeholder() -> None:
    assert pattern_problems("{mon} {yy}") == []
    [problem] = pattern_problems("{mont} {yy}")
    assert "{mont}" in problem and "{mon}" in problem
    assert "no placeholder" in pattern_problems("March")[0]


# --- options and columns --------------------------------------------------------------------


def test_a_valid_flow_gives_typed_options_and_ordered_columns() -> None:
    spec = inbound_spec("gl-actuals", flow(options={"book": "MAIN", "fiscal_year_start_month": 4}))
    assert isinstance(spec.options, GlActualsOptions)
    assert spec.options.fiscal_year_start_month == 4
    assert spec.headers == ("Account", "Cost Center", "Period", "Version", "Amount")


def test_every_problem_is_reported_at_once_with_its_key_path() -> None:
    bad = flow(
        options={"period_formt": "x", "account_segment": 0, "period_format": "{mont}"},
        columns={"Account": "acount", "Cost Center": "cost_center"},
    )
    with pytest.raises(UsageError) as caught:
        inbound_spec("gl-actuals", bad)
    lines = str(caught.value).splitlines()
    assert (
        "flows.gl-actuals.options.period_formt: unknown option (did you mean period_format?)"
        in lines
    )
    assert any(
        line.startswith("flows.gl-actuals.options.account_segment: expected int >= 1")
        for line in lines
    )
    assert any(
        line.startswith("flows.gl-actuals.options.period_format: unknown placeholder {mont}")
        for line in lines
    )
    assert any(
        line.startswith("flows.gl-actuals.columns.Account: unknown record field 'acount'")
        for line in lines
    )
    assert any(
        line.startswith("flows.gl-actuals.columns: no column takes 'period'") for line in lines
    )
    assert not any("Traceback" in line for line in lines)


def test_segments_must_differ_and_category_map_entries_are_checked() -> None:
    with pytest.raises(UsageError, match="cost_center_segment: must differ from account_segment"):
        inbound_spec("gl-actuals", flow(options={"account_segment": 2}))
    coa = flow(
        kind="coa-align",
        columns={"Code": "code", "Name": "name"},
        options={"category_map": ["ASSET=Asset", "EXPENSE"]},
    )
    with pytest.raises(UsageError, match=r"options.category_map\[1\]: expected 'EPICOR=ANAPLAN'"):
        inbound_spec("coa-align", coa)


def test_a_flow_must_read_epicor_and_write_anaplan() -> None:
    with pytest.raises(UsageError, match=r"flows\.gl-actuals\.source: gl-actuals reads an Epicor"):
        inbound_spec("gl-actuals", flow(source="anaplan.fpa", target="epicor.main"))


# --- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [("1234.5", "1234.50"), ("0.125", "0.125"), ("-0", "0.00"), ("1E+3", "1000.00"),
     ("-12.30", "-12.30"), ("7", "7.00")],
)  # fmt: skip
def test_amounts_are_plain_text_with_cents(amount: str, text: str) -> None:
    assert format_amount(Decimal(amount)) == text


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False))
def test_micros_round_trip_exactly(amount: Decimal) -> None:
    assert from_micros(to_micros(amount)) == amount


def test_an_amount_finer_than_micros_is_refused() -> None:
    with pytest.raises(AmountError, match="more than 6 decimal places"):
        to_micros(Decimal("0.0000001"))


# --- mapping ---------------------------------------------------------------------------------


def cell(account: str = "6100", center: str = "21", period: int = 3) -> SourceCell:
    return SourceCell(
        key=f"gl-actuals:EPIC06|MAIN|{account}|{center}|2026|{period}",
        scope="EPIC06|MAIN",
        account=account,
        cost_center=center,
        fiscal_year=2026,
        fiscal_period=period,
        amount=Decimal("1500.5"),
        rows=2,
    )


def mapper(**overrides: str) -> CellMapper:
    spec = inbound_spec("gl-actuals", flow())
    return CellMapper(
        spec,
        CodeMap.build("Accounts", ["6100", "A-6200"], {"6200": "A-6200", **overrides}),
        CodeMap.build("Cost Centers", ["21", "22"], {}),
    )


def test_a_mapped_cell_becomes_the_import_row() -> None:
    row = mapper().map(cell())
    assert isinstance(row, MappedRow)
    assert row.values == ("6100", "21", "Mar 26", "Actual", "1500.50")
    assert mapper().map(cell("6200")).values[0] == "A-6200"  # an override


def test_unknown_codes_are_quarantined_with_reason_and_payload() -> None:
    held = mapper().map(cell("7200", "38"))
    assert isinstance(held, QuarantinedRow)
    assert held.missing_code == "7200, 38"
    assert "no member in Anaplan list 'Accounts' for Epicor account '7200'" in held.reason
    assert "no member in Anaplan list 'Cost Centers' for Epicor cost center '38'" in held.reason
    assert decode_cell(held.payload) == cell("7200", "38")
    not_a_month = mapper().map(cell(period=13))
    assert isinstance(not_a_month, QuarantinedRow)
    assert not_a_month.missing_code == "2026/13"


# --- failure dumps ---------------------------------------------------------------------------


def test_a_failure_dump_gives_lines_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "dump.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["_Status_", "Account", "Amount", "_Line_", "_Error_1_"])
        writer.writerow(["E", "9999", "1", "3", "Item not located in Accounts list: 9999"])
        writer.writerow(["W", "6100", "1", "4", "a warning"])
        writer.writerow(["E", "6100", "x", "7", "Invalid number for line item Amount: x"])
    failures = list(read_failures(path))
    assert [(f.line, f.error) for f in failures] == [
        (3, "Item not located in Accounts list: 9999"),
        (7, "Invalid number for line item Amount: x"),
    ]
    (tmp_path / "bad.csv").write_text("_Status_,Account\nE,1\n", encoding="utf-8")
    with pytest.raises(DumpFormatError, match="_Line_"):
        list(read_failures(tmp_path / "bad.csv"))
