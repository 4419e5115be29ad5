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
        config = w.config(budget_flow(budget_code="MAIN", period_from=period, period_to=period))
        out = io.StringIO()
        async with tree(config) as (running, _store):
            result = await demo_budget_to_gl(running, "budget-to-gl", out)
        assert result.status == "succeeded", result.error
        budgets = await w.budgets("MAIN")
    text = out.getvalue()
    assert "running: budget-to-gl (Anaplan 'Export Approved Budget' -> Epicor budgets)" in text
    assert f"budget-to-gl: run {result.run_id} succeeded: " in text
    header = f"Budget vs actual, fiscal year {today.year} periods 1-{today.month}, budget code MAIN"
    assert header in text
    table = text[text.index(header):].splitlines()
    per_center: dict[str, Decimal] = defaultdict(Decimal)
    for (account, year, fiscal_period), amount in budgets.items():
        if year == today.year and fiscal_period <= today.month:
            per_center[account.split("|")[1]] += amount
    rows = {line.split()[0]: line.split() for line in table[3:-2]}
    assert set(rows) == set(per_center)
    for center, amount in per_center.items():
        assert rows[center][1] == f"{amount:,.2f}"
    assert table[-1].split()[:2] == ["Total", f"{sum(per_center.values(), Decimal(0)):,.2f}"]
