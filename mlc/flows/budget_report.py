"""Budget versus actual per cost center: what ``mlc demo`` prints after ``budget-to-gl``.

The comparison covers the GL accounts that carry a budget (balance-sheet accounts without one
would only add noise), summed per cost-center segment for periods 1 to ``last_period``. Both
sides use Epicor's sign convention (debits positive). :func:`budget_vs_actual` is pure; the
EpicorWriter reads the rows (``ReadBudgetVsActual``) and :func:`format_budget_vs_actual` renders
the answer as a text table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from mlc.messages import BudgetVsActual, CostCenterBudget

Amounts = Iterable[tuple[str, int, Decimal]]
_ZERO = Decimal(0)


def _segment(account: str, position: int) -> str:
    parts = account.split("|")
    return parts[position - 1] if position <= len(parts) else ""


def budget_vs_actual(
    budget: Amounts, actual: Amounts, *, cost_center_segment: int, last_period: int
) -> list[CostCenterBudget]:
    """Per cost center, sorted: the budget and the actual of the budgeted accounts.

    ``budget`` and ``actual`` are ``(GL account, fiscal period, amount)`` rows of one year.
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


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def format_budget_vs_actual(report: BudgetVsActual) -> str:
    """A text table: cost center, budget, actual, variance (actual - budget), % of budget."""
    header = ("Cost center", "Budget", "Actual", "Variance", "% used")
    lines = [header]
    total_budget = total_actual = _ZERO
    for row in report.rows:
        total_budget += row.budget
        total_actual += row.actual
        lines.append(_line(row.cost_center, row.budget, row.actual))
    lines.append(_line("Total", total_budget, total_actual))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    title = (
        f"Budget vs actual, fiscal year {report.fiscal_year} periods 1-{report.last_period}, "
        f"budget code {report.budget_code}"
    )
    rendered = [title]
    for index, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:],
                                                                         strict=True)]
        rendered.append("  ".join(cells))
        if index == 0 or index == len(lines) - 2:
            rendered.append("  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def _line(name: str, budget: Decimal, actual: Decimal) -> tuple[str, str, str, str, str]:
    used = f"{actual / budget * 100:.1f}%" if budget else "-"
    return name, _money(budget), _money(actual), _money(actual - budget), used
