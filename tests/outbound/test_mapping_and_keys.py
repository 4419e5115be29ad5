"""Mapping back to Epicor, posting keys, journal planning, cell sums, budget vs actual."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from mlc.config import FlowConfig
from mlc.flows.budget_report import (
    ReportLine,
    budget_vs_actual,
    format_budget_vs_actual,
    income_summary,
)
from mlc.flows.outbound.cells import CellSums
from mlc.flows.outbound.export import SourceValue
from mlc.flows.outbound.journal import OFFSET_DESCRIPTION, PostedLine, plan_journal
from mlc.flows.outbound.keys import budget_posting_key, canonical_amount, group_id
from mlc.flows.outbound.mapping import GLTarget, OutboundMapper, Unmapped
from mlc.flows.outbound.options import OutboundFlowSpec, outbound_spec
from mlc.flows.outbound.periods import FiscalPeriod
from mlc.flows.outbound.posting import Judge, Mapped
from mlc.flows.outbound.rules import DirectionRules
from mlc.messages import BudgetVsActual, CostCenterBudget, TargetChart

CHART = TargetChart(
    coa="MAIN",
    natural_accounts=("4000", "6100", "7200"),
    credit_accounts=("4000",),
    cost_centers=("21", "22"),
    gl_accounts=("4000|21|10", "6100|21|10", "6100|22|10", "6100|22|20", "7200|21|30"),
)


def _spec(**options: object) -> OutboundFlowSpec:
    flow = FlowConfig(kind="budget-to-gl", source="anaplan.fpa", target="epicor.main",
                      options=options)  # type: ignore[arg-type]  # fmt: skip
    return outbound_spec("budget-to-gl", flow)


def _mapper(tables: dict[str, dict[str, str]] | None = None, **options: object) -> OutboundMapper:
    return OutboundMapper.build(_spec(**options), CHART, tables or {})


def test_codes_map_to_themselves_and_the_site_comes_from_the_epicor_chart() -> None:
    mapper = _mapper()
    assert mapper.map("6100", "21") == GLTarget("6100|21|10", "6100", "21", False)
    assert mapper.map("4000", "21") == GLTarget("4000|21|10", "4000", "21", True)
    several = mapper.map("6100", "22")
    assert isinstance(several, Unmapped) and "6100|22|10, 6100|22|20" in several.reason
    none = mapper.map("4000", "22")
    assert none == Unmapped(
        "no active Epicor GL account with natural account '4000' and cost center '22' in chart "
        "'MAIN': add a mapping (kind 'epicor.main:Site', '4000|22' → site) or the GL account in "
        "Epicor",
        "4000|22",
    )


def test_an_unknown_anaplan_code_is_quarantined_until_the_mapping_table_names_it() -> None:
    assert _mapper().map("FX-LOSS", "21") == Unmapped(
        "Anaplan natural account 'FX-LOSS' has no Epicor natural account: add a mapping (kind "
        "'anaplan.fpa:Accounts', Epicor code → 'FX-LOSS') or the code in Epicor",
        "FX-LOSS",
    )
    tables = {"anaplan.fpa:Accounts": {"7200": "FX-LOSS", "6100": "6100"}}
    assert _mapper(tables).map("FX-LOSS", "21") == GLTarget("7200|21|30", "7200", "21", False)
    ambiguous = {"anaplan.fpa:Accounts": {"7200": "OPEX", "6100": "OPEX"}}
    reason = _mapper(ambiguous).map("OPEX", "21")
    assert isinstance(reason, Unmapped) and "several Epicor codes (6100, 7200" in reason.reason
    gone = {"anaplan.fpa:Cost Centers": {"99": "21"}}
    reason = _mapper(gone).map("6100", "21")
    assert isinstance(reason, Unmapped) and "maps to Epicor '99'" in reason.reason


def test_a_site_pinned_in_the_mapping_table_or_fixed_by_option() -> None:
    pinned = _mapper({"epicor.main:Site": {"6100|22": "20"}})
    assert pinned.map("6100", "22") == GLTarget("6100|22|20", "6100", "22", False)
    by_center = _mapper({"epicor.main:Site": {"22": "10"}}, site_rule="mapping")
    assert by_center.map("6100", "22") == GLTarget("6100|22|10", "6100", "22", False)
    assert isinstance(by_center.map("6100", "21"), Unmapped)
    fixed = _mapper(site_rule="fixed", site="30")
    assert fixed.map("7200", "21") == GLTarget("7200|21|30", "7200", "21", False)
    refused = fixed.map("6100", "21")
    assert isinstance(refused, Unmapped) and refused.missing_code == "6100|21|30"
    spec = _spec(
        site_rule="fixed", site="21", account_segment=2, cost_center_segment=3, site_segment=1
    )
    chart = TargetChart(
        coa="MAIN",
        natural_accounts=("6100",),
        credit_accounts=(),
        cost_centers=("10",),
        gl_accounts=("21|6100|10",),
    )
    reordered = OutboundMapper.build(spec, chart, {})
    assert reordered.map("6100", "10") == GLTarget("21|6100|10", "6100", "10", False)


def _key(**changes: object) -> str:
    fields: dict[str, object] = {
        "flow": "budget-to-gl", "version": "Budget", "book": "MAIN", "budget_code": "MAIN",
        "balance_type": "D", "gl_account": "6100|21|10", "period": FiscalPeriod(2026, 3),
        "amount": Decimal("100.00"),
    }  # fmt: skip
    fields.update(changes)
    return budget_posting_key(**fields)  # type: ignore[arg-type]


def test_budget_keys_are_deterministic_and_name_the_value() -> None:
    assert _key() == _key()
    assert _key(amount=Decimal("100.00")) == _key(amount=Decimal("100.00"))
    variants = [
        _key(amount=Decimal("100.01")),
        _key(period=FiscalPeriod(2026, 4)),
        _key(gl_account="6100|22|10"),
        _key(flow="forecast-to-gl"),
        _key(version="Forecast"),
        _key(budget_code="FCST"),
    ]
    assert len({_key(), *variants}) == 7
    assert canonical_amount(Decimal("-0.00")) == "0.00"
    assert canonical_amount(Decimal("-12.50")) == "-12.50"


def _posted(reference: str, account: str, debit: str, credit: str = "0") -> PostedLine:
    return PostedLine(reference, account, Decimal(debit), Decimal(credit), "mlc plan Budget")


def _plan(targets: dict[str, str], posted: list[PostedLine], reverse: bool = False):  # type: ignore[no-untyped-def]
    return plan_journal(
        flow="budget-to-gl", version="Budget", period=FiscalPeriod(2025, 3), book="MAIN",
        journal_code="GJ", offset_account="3100|11|00",
        targets={account: Decimal(amount) for account, amount in targets.items()},
        posted=posted, reverse_missing=reverse,
    )  # fmt: skip


def test_a_journal_posts_the_difference_and_balances() -> None:
    plan = _plan({"6100|21|10": "100", "4000|21|10": "-40"}, [])
    assert plan is not None
    assert [(line.gl_account, line.amount) for line in plan.lines] == [
        ("4000|21|10", Decimal("-40")),
        ("6100|21|10", Decimal("100")),
    ]
    assert sum((line.amount for line in plan.lines), plan.offset_amount) == 0
    assert plan.reference.startswith("mlc:budget-to-gl:Budget:2025-03:")
    assert plan.group_id == group_id(plan.reference) and len(plan.group_id) == 8
    offset = PostedLine(plan.reference, "3100|11|00", Decimal(0), Decimal("60"), OFFSET_DESCRIPTION)
    posted = [_posted(plan.reference, "6100|21|10", "100"),
              _posted(plan.reference, "4000|21|10", "0", "40"), offset]  # fmt: skip
    assert _plan({"6100|21|10": "100", "4000|21|10": "-40"}, posted) is None
    moved = _plan({"6100|21|10": "130", "4000|21|10": "-40"}, posted)
    assert moved is not None
    assert [(line.gl_account, line.amount, line.posted) for line in moved.lines] == [
        ("6100|21|10", Decimal("30"), Decimal("100"))
    ]
    assert moved.reference != plan.reference
    assert _plan({"6100|21|10": "100"}, posted) is None
    reversed_plan = _plan({"6100|21|10": "100"}, posted, reverse=True)
    assert reversed_plan is not None
    assert [(line.gl_account, line.amount) for line in reversed_plan.lines] == [
        ("4000|21|10", Decimal("40"))
    ]


def test_an_equal_increment_later_is_a_new_journal() -> None:
    first = _plan({"6100|21|10": "100"}, [])
    assert first is not None
    back = _plan({"6100|21|10": "0"}, [_posted(first.reference, "6100|21|10", "100")])
    assert back is not None
    history = [_posted(first.reference, "6100|21|10", "100"),
               _posted(back.reference, "6100|21|10", "0", "100")]  # fmt: skip
    again = _plan({"6100|21|10": "100"}, history)
    assert again is not None
    assert [line.amount for line in again.lines] == [Decimal("100")]
    assert again.reference != first.reference


def test_cells_sum_their_records_once_each_in_account_order(tmp_path: Path) -> None:
    sums = CellSums(tmp_path / "cells.sqlite")
    march, april = FiscalPeriod(2026, 3), FiscalPeriod(2026, 4)
    sums.add("k2", "h2", "6100|21|10", march, Decimal("10.25"))
    sums.add("k1", "h1", "6100|21|10", march, Decimal("5.50"))
    sums.add("k1", "h1", "6100|21|10", march, Decimal("5.50"))
    sums.add("k3", "h3", "4000|21|10", april, Decimal("-1.10"))
    cells = [cell for batch in sums.cells(batch_size=1) for cell in batch]
    assert [(c.gl_account, c.period, c.amount, c.records) for c in cells] == [
        ("4000|21|10", april, Decimal("-1.10"), (("k3", "h3"),)),
        ("6100|21|10", march, Decimal("15.75"), (("k1", "h1"), ("k2", "h2"))),
    ]
    assert sums.periods() == [march, april]
    assert [c.gl_account for batch in sums.cells(period=april) for c in batch] == ["4000|21|10"]
    assert sums.count() == 2
    sums.close()
    assert not (tmp_path / "cells.sqlite").exists()


def test_budget_vs_actual_per_cost_center_over_budgeted_accounts() -> None:
    budget = [("6100|21|10", 1, Decimal("100")), ("6100|21|10", 2, Decimal("100")),
              ("6200|22|10", 1, Decimal("50")), ("6200|22|10", 7, Decimal("999"))]  # fmt: skip
    actual = [("6100|21|10", 1, Decimal("90")), ("1000|11|00", 1, Decimal("5000")),
              ("6200|22|10", 2, Decimal("60"))]  # fmt: skip
    rows = budget_vs_actual(budget, actual, cost_center_segment=2, last_period=6)
    assert rows == [
        CostCenterBudget(cost_center="21", budget=Decimal("200"), actual=Decimal("90")),
        CostCenterBudget(cost_center="22", budget=Decimal("50"), actual=Decimal("60")),
    ]
    text = format_budget_vs_actual(
        BudgetVsActual(fiscal_year=2025, budget_code="MAIN", last_period=6, rows=tuple(rows))
    )
    lines = text.splitlines()
    assert "fiscal year 2025 periods 1-6, budget code MAIN" in lines[0]
    assert lines[1] == "Net income (revenue - costs) per cost center"
    assert lines[2].split() == ["Cost", "center", "Budget", "Actual", "Variance"]
    assert lines[4].split() == ["21", "-200.00", "-90.00", "110.00"]
    assert lines[-1].split() == ["Total", "-250.00", "-150.00", "100.00"]


def test_the_summary_splits_revenue_from_costs_in_reading_sign() -> None:
    budget = [("4000|21|10", 1, Decimal("-1000")), ("6100|21|10", 1, Decimal("300")),
              ("2000|11|00", 1, Decimal("-50"))]  # fmt: skip
    actual = [("4000|21|10", 1, Decimal("-1200")), ("6100|21|10", 1, Decimal("330")),
              ("2000|11|00", 1, Decimal("-70")), ("5000|21|10", 1, Decimal("999"))]  # fmt: skip
    by_account = budget_vs_actual(budget, actual, cost_center_segment=1, last_period=12)
    summary = income_summary(by_account, {"4000", "2000"})
    assert summary == [
        ReportLine("Revenue", Decimal("1050"), Decimal("1270")),
        ReportLine("Costs", Decimal("300"), Decimal("330")),
        ReportLine("Net income", Decimal("750"), Decimal("940")),
    ]
    per_center = budget_vs_actual(budget, actual, cost_center_segment=2, last_period=12)
    report = BudgetVsActual(fiscal_year=2026, budget_code="MAIN", last_period=12,
                            rows=tuple(per_center))  # fmt: skip
    lines = format_budget_vs_actual(report, summary).splitlines()
    assert lines[1].split() == ["Budget", "Actual", "Variance", "%", "of", "budget"]
    assert lines[3].split() == ["Revenue", "1,050.00", "1,270.00", "220.00", "121.0%"]
    assert lines[4].split() == ["Costs", "300.00", "330.00", "30.00", "110.0%"]
    assert lines[5].split() == ["Net", "income", "750.00", "940.00", "190.00", "125.3%"]
    assert lines[-1].split() == ["Total", "750.00", "940.00", "190.00"], "same net as the summary"


def test_credit_accounts_are_negated_only_when_asked() -> None:
    def judged(convention: str, account: str) -> object:
        spec = _spec(sign_convention=convention)
        rules = DirectionRules.from_options(spec.options, dt.date(2026, 1, 15))
        judge = Judge(rules, OutboundMapper.build(spec, CHART, {}))
        return judge(SourceValue(line=2, account=account, cost_center="21", period="Mar 26",
                                 version="Budget", amount="250"))  # fmt: skip

    march = FiscalPeriod(2026, 3)
    assert judged("as-exported", "4000") == Mapped("4000|21|10", march, Decimal("250.00"))
    assert judged("credit-negative", "4000") == Mapped("4000|21|10", march, Decimal("-250.00"))
    assert judged("credit-negative", "6100") == Mapped("6100|21|10", march, Decimal("250.00"))
