"""The `mlc demo` extension: budget-to-gl, then budget vs actual per cost center from Epicor."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from mlc.cli.demo import demo_budget_to_gl
from mlc.runtime import SystemClock
from mlc.sandbox.anaplan import AnaplanOptions
from mlc.sandbox.epicor import EpicorOptions
from tests.outbound.support import budget_flow, tree, world


@pytest.mark.anyio
async def test_the_demo_prints_epicor_budget_against_actual_per_cost_center(
    tmp_path: Path,
) -> None:
    clock = SystemClock()
    today = dt.datetime.fromtimestamp(clock.time(), dt.UTC).date()
    anaplan = AnaplanOptions(task_base_seconds=0.0, task_seconds_per_row=0.0)
    async with world(tmp_path, anaplan=anaplan, epicor=EpicorOptions()) as w:
        period = f"{today.year}-{today.month:02d}"
        flows = budget_flow(
            budget_code="MAIN", period_from=period, period_to=period,
            sign_convention="credit-negative",
        )  # fmt: skip
        config = w.config(flows)
        out = io.StringIO()
        async with tree(config) as (running, _store):
            result = await demo_budget_to_gl(running, "budget-to-gl", out)
        assert result.status == "succeeded", result.error
        budgets = await w.budgets("MAIN")
        segments = await w.odata_rows(
            "Erp.BO.COASegValuesSvc/COASegValues", "COACode eq 'MAIN' and SegmentNbr eq 1"
        )
    credit = {row["SegmentCode"] for row in segments if row["NormalBalance"] == "C"}
    text = out.getvalue()
    assert "running: budget-to-gl (Anaplan 'Export Approved Budget' -> Epicor budgets)" in text
    assert f"budget-to-gl: run {result.run_id} succeeded: " in text
    header = f"Budget vs actual, fiscal year {today.year} periods 1-{today.month}, budget code MAIN"
    assert header in text
    assert "note:" not in text, "credit-negative keeps Epicor's sign: nothing to warn about"
    table = text[text.index(header) :].splitlines()
    per_center: dict[str, Decimal] = defaultdict(Decimal)
    revenue = costs = Decimal(0)
    for (account, year, fiscal_period), amount in budgets.items():
        if year == today.year and fiscal_period <= today.month:
            per_center[account.split("|")[1]] += amount
            if account.split("|")[0] in credit:
                revenue -= amount
            else:
                costs += amount
    assert revenue > 0 and costs > 0, "revenue budgets were written negative, costs positive"
    summary = {line.split()[0]: line.split() for line in table[3:6]}
    assert summary["Revenue"][1] == f"{revenue:,.2f}"
    assert summary["Costs"][1] == f"{costs:,.2f}"
    assert summary["Net"][2] == f"{revenue - costs:,.2f}"
    start = table.index("Net income (revenue - costs) per cost center")
    rows = {line.split()[0]: line.split() for line in table[start + 3 : -2]}
    assert set(rows) == set(per_center)
    for center, amount in per_center.items():
        assert rows[center][1] == f"{-amount:,.2f}", "net income: the ledger-sign sum negated"
    net = -sum(per_center.values(), Decimal(0))
    assert table[-1].split()[:2] == ["Total", f"{net:,.2f}"]
    assert net == revenue - costs
