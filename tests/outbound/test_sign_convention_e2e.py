"""budget-to-gl with ``sign_convention = "credit-negative"``: Anaplan plans revenue positive,
Epicor's ``GLBudgetDtl.BudgetAmt`` is "credits negative, debits positive" — so a revenue budget is
written negative, an expense budget as approved, and a rerun finds every cell already in place."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.outbound.support import budget_flow, run, tree, world

MONTH = "Mar 25"


@pytest.mark.anyio
async def test_revenue_budgets_are_written_negative_and_expenses_as_approved(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        flows = budget_flow(
            budget_code="MAIN", period_from="2025-03", period_to="2025-03",
            sign_convention="credit-negative",
        )  # fmt: skip
        async with tree(w.config(flows)) as (running, _store):
            first = await run(running, "budget-to-gl")
            assert first.status == "succeeded", first.error
            second = await run(running, "budget-to-gl")
        assert second.status == "succeeded", second.error
        assert (second.tally.loaded, second.tally.changes) == (0, 0)
        assert second.tally.unchanged == first.tally.loaded > 0

        segments = await w.odata_rows(
            "Erp.BO.COASegValuesSvc/COASegValues", "COACode eq 'MAIN' and SegmentNbr eq 1"
        )
        normal = {row["SegmentCode"]: row["NormalBalance"] for row in segments}
        accounts = await w.odata_rows("Erp.BO.GLAccountSvc/GLAccounts", "Active eq true")
        by_pair = {(row["SegValue1"], row["SegValue2"]): row["GLAccount1"] for row in accounts}
        after = await w.budgets("MAIN")
        approved = {
            (account, center): amount
            for (account, center, period), amount in w.approved("Export Approved Budget").items()
            if period == MONTH
        }

    expected = {
        (by_pair[pair], 2025, 3): -amount if normal[pair[0]] == "C" else amount
        for pair, amount in approved.items()
    }
    assert {cell: after.get(cell) for cell in expected} == expected
    revenue = {cell: amount for cell, amount in expected.items() if cell[0].startswith("4000|")}
    expense = {cell: amount for cell, amount in expected.items() if cell[0].startswith("6100|")}
    assert revenue and expense
    assert all(after[cell] < 0 for cell in revenue), "credits negative in GLBudgetDtl"
    assert all(after[cell] > 0 for cell in expense), "debits positive"
    for cell in revenue:
        natural, center, _site = cell[0].split("|")
        assert after[cell] == -approved[(natural, center)] != Decimal(0)
