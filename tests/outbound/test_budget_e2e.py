"""Acceptance 1: after budget-to-gl, Epicor holds exactly Anaplan's approved budget cells."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from mlc.sandbox.epicor import EpicorOptions
from tests.outbound.support import (
    AS_OF,
    FISCAL_YEAR,
    budget_flow,
    budget_totals,
    run,
    tree,
    world,
)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.anyio
async def test_epicor_budgets_equal_the_approved_cells_to_the_cent(tmp_path: Path) -> None:
    """Every approved cell of both budget years; slow because the Epicor emulator re-totals a
    budget header by scanning every budget row on each write."""
    async with world(tmp_path) as w:
        before = await w.budgets("MAIN")
        config = w.config(budget_flow(budget_code="MAIN"))
        async with tree(config) as (running, _store):
            result = await run(running, "budget-to-gl")
        assert result.status == "succeeded", result.error
        approved = w.approved("Export Approved Budget")
        after = await w.budgets("MAIN")
        chart = {row["GLAccount1"]: row for row in await w.odata_rows(
            "Erp.BO.GLAccountSvc/GLAccounts", "Active eq true")}
        by_pair = {(r["SegValue1"], r["SegValue2"]): account for account, r in chart.items()}
        expected = {}
        for (account, center, period), amount in approved.items():
            month, year = period.split()
            fiscal_period = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                             "Oct", "Nov", "Dec"].index(month) + 1  # fmt: skip
            gl = by_pair[(account, center)]
            expected[(gl, 2000 + int(year), fiscal_period)] = amount
        assert len(expected) == len(approved) > 1000
        written = {cell: after.get(cell) for cell in expected}
        assert written == expected
        untouched = {cell: amount for cell, amount in before.items() if cell not in expected}
        assert {cell: after[cell] for cell in untouched} == untouched
        assert result.tally.loaded == len(expected)
        totals = budget_totals({cell: after[cell] for cell in expected})
        assert sum(totals.values(), Decimal(0)) == sum(expected.values(), Decimal(0))


@pytest.mark.anyio
async def test_closed_periods_are_never_written(tmp_path: Path) -> None:
    epicor = EpicorOptions(fiscal_year=FISCAL_YEAR, as_of=AS_OF, closed_periods=((2025, 3),))
    async with world(tmp_path, epicor=epicor) as w:
        before = await w.budgets("MAIN")
        flows = budget_flow(
            budget_code="MAIN", period_from="2025-01", period_to="2025-03",
            closed_periods=["2025-02"], journal=True, journal_offset_account="3100|11|00",
        )  # fmt: skip
        async with tree(w.config(flows)) as (running, store):
            result = await run(running, "budget-to-gl")
            assert result.run_id is not None
            failed = await store.records_for_run(result.run_id, status="failed")
            skipped = await store.records_for_run(result.run_id, status="skipped")
        assert result.status == "partial"
        after = await w.budgets("MAIN")
        moved = {cell for cell, amount in after.items() if before.get(cell) != amount}
        assert {period for _account, _year, period in moved} == {1, 3}
        assert {(year, period) for _account, year, period in moved} == {(2025, 1), (2025, 3)}
        february = [r for r in skipped if r.record_key.endswith("|Feb 25")]
        assert february and all(
            r.error == "fiscal period 2025-02 is closed (closed_periods)" for r in february
        )
        assert {r.record_key.rsplit("|", 1)[1] for r in failed} == {"Mar 25"}
        assert all("Fiscal period 2025/3 is closed." in (r.error or "") for r in failed)
        assert {r.stage for r in failed} == {"journal"}
        counters = await w.counters()
        assert counters["journal_posts"] == 1
        assert {int(line["FiscalPeriod"]) for line in await w.plan_journal_lines()} == {1}
