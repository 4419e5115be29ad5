"""Budget versus actual per cost center: what ``mlc demo`` prints after ``budget-to-gl``.

The comparison covers the GL accounts that carry a budget (balance-sheet accounts without one
would only add noise), for periods 1 to ``last_period``. :func:`budget_vs_actual` is pure; the
EpicorWriter reads the rows (``ReadBudgetVsActual``) and :func:`format_budget_vs_actual` renders
the answer as text.

Both sides are read in Epicor's ledger sign: ``BalanceAmt`` is debit - credit and ``BudgetAmt``
"credits negative, debits positive" (reference/epicor.md §4), so revenue and its budget are
negative (``budget-to-gl`` with ``sign_convention = "credit-negative"``). A cost center's sum in
that sign is costs - revenue; the table shows it the way a reader expects, as **net income**
(revenue - costs, the sum negated), without a "% used": the ratio of two net results says nothing
once revenue and costs are mixed. Where the split matters, :func:`income_summary` gives revenue
(the credit-normal accounts, shown positive) and costs apart, from rows grouped by natural account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from mlc.messages import BudgetVsActual, CostCenterBudget

Amounts = Iterable[tuple[str, int, Decimal]]
_ZERO = Decimal(0)


@dataclass(frozen=True)
class ReportLine:
    """One line of the summary, in reading sign (revenue, costs and net income positive)."""

    name: str
    budget: Decimal
    actual: Decimal


def _segment(account: str, position: int) -> str:
    parts = account.split("|")
    return parts[position - 1] if position <= len(parts) else ""


def budget_vs_actual(
    budget: Amounts, actual: Amounts, *, cost_center_segment: int, last_period: int
) -> list[CostCenterBudget]:
    """Per cost center, sorted: the budget and the actual of the budgeted accounts, in ledger sign.

    ``budget`` and ``actual`` are ``(GL account, fiscal period, amount)`` rows of one year. Any
    segment position groups: the natural account's gives the rows :func:`income_summary` reads.
    """
    budgets: dict[str, Decimal] = defaultdict(Decimal)
    budgeted: set[str] = set()
    for account, period, amount in budget:
        if 1 <= period <= last_period:
            budgets[_segment(account, cost_center_segment)] += amount
            budgeted.add(account)
    actuals: dict[str, Decimal] = defaultdict(Decimal)
    for account, period, amount in actual:
        if account in budgeted and 1 <= period <= last_period:
            actuals[_segment(account, cost_center_segment)] += amount
    return [
        CostCenterBudget(
            cost_center=center, budget=budgets[center], actual=actuals.get(center, _ZERO)
        )
        for center in sorted(budgets)
    ]


def income_summary(
    by_account: Iterable[CostCenterBudget], credit_accounts: Collection[str]
) -> list[ReportLine]:
    """Revenue, costs and net income from ledger-sign rows grouped by natural account (the
    ``cost_center`` field holds the natural account); ``credit_accounts`` are the natural accounts
    whose normal balance is credit, counted as revenue and shown positive."""
    revenue_budget = revenue_actual = costs_budget = costs_actual = _ZERO
    for row in by_account:
        if row.cost_center in credit_accounts:
            revenue_budget -= row.budget
            revenue_actual -= row.actual
        else:
            costs_budget += row.budget
            costs_actual += row.actual
    return [
        ReportLine("Revenue", revenue_budget, revenue_actual),
        ReportLine("Costs", costs_budget, costs_actual),
        ReportLine("Net income", revenue_budget - costs_budget, revenue_actual - costs_actual),
    ]


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def format_budget_vs_actual(report: BudgetVsActual, summary: Sequence[ReportLine] = ()) -> str:
    """The title, the ``summary`` lines (if any) with % of budget, then net income per cost
    center (budget, actual, variance = actual - budget) and its total."""
    title = (
        f"Budget vs actual, fiscal year {report.fiscal_year} periods 1-{report.last_period}, "
        f"budget code {report.budget_code} (budgeted accounts; variance = actual - budget)"
    )
    rendered = [title]
    if summary:
        lines = [("", "Budget", "Actual", "Variance", "% of budget")]
        lines.extend(
            (*_amounts(line.name, line.budget, line.actual), _share(line.actual, line.budget))
            for line in summary
        )
        rendered.extend(_table(lines, rule_before_last=False))
        rendered.append("")
    rows = [("Cost center", "Budget", "Actual", "Variance")]
    total_budget = total_actual = _ZERO
    for row in report.rows:
        total_budget -= row.budget
        total_actual -= row.actual
        rows.append(_amounts(row.cost_center, -row.budget, -row.actual))
    rows.append(_amounts("Total", total_budget, total_actual))
    rendered.append("Net income (revenue - costs) per cost center")
    rendered.extend(_table(rows, rule_before_last=True))
    return "\n".join(rendered)


def _amounts(name: str, budget: Decimal, actual: Decimal) -> tuple[str, str, str, str]:
    return name, _money(budget), _money(actual), _money(actual - budget)


def _share(actual: Decimal, budget: Decimal) -> str:
    return f"{actual / budget * 100:.1f}%" if budget > 0 else "-"


def _table(lines: Sequence[tuple[str, ...]], *, rule_before_last: bool) -> list[str]:
    """Left-aligned first column, right-aligned others; a rule under the header (and above the
    last line when it is a total)."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rule = "  ".join("-" * width for width in widths)
    out: list[str] = []
    for index, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])]
        cells.extend(cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True))
        out.append("  ".join(cells).rstrip())
        if index == 0 or (rule_before_last and index == len(lines) - 2):
            out.append(rule)
    return out
