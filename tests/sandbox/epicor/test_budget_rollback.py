"""All-or-nothing budget calls put every row back exactly (values, totals, SysRevID, order), and
rollbackParentOnChildError restores only the failed parent; journals in one group post apart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.epicor.support import Epicor
from tests.sandbox.epicor.test_journals import CASH, EXPENSE, GRP, JE, enter_journal, post

pytestmark = pytest.mark.anyio

SVC = "Erp.BO.AccountBudgetSvc"


async def _tables(epicor: Epicor) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        await epicor.all_rows(f"{SVC}/AccountBudgets"),
        await epicor.all_rows(f"{SVC}/GLBudgetDtls"),
    )


async def _seeded_header(epicor: Epicor) -> dict[str, Any]:
    first: dict[str, Any] = (await epicor.ok(f"{SVC}/AccountBudgets", **{"$top": "1"}))["value"][0]
    return {k: first[k] for k in ("BalanceAcct", "FiscalYear", "BudgetCodeID")}


async def _unbudgeted_account(epicor: Epicor) -> str:
    budgeted = {row["BalanceAcct"] for row in await epicor.all_rows(f"{SVC}/AccountBudgets")}
    accounts = await epicor.all_rows(
        "Erp.BO.GLAccountSvc/GLAccounts", **{"$filter": "startswith(GLAccount1,'6')"}
    )
    return str(next(a["GLAccount1"] for a in accounts if a["GLAccount1"] not in budgeted))


@pytest.mark.parametrize("method", ["UpdateExt", "Update"])
async def test_a_failed_call_leaves_both_tables_exactly_as_they_were(
    epicor: Epicor, method: str
) -> None:
    seeded = await _seeded_header(epicor)
    fresh = {**seeded, "BalanceAcct": await _unbudgeted_account(epicor)}
    before = await _tables(epicor)
    rows = [
        {**seeded, "FiscalPeriod": 1, "BudgetAmt": "1.11", "RowMod": "U"},
        {**seeded, "FiscalPeriod": 2, "RowMod": "D"},
        {**fresh, "FiscalPeriod": 3, "BudgetAmt": "3.33", "RowMod": "A"},
        {**seeded, "FiscalPeriod": 99, "BudgetAmt": "9", "RowMod": "U"},
    ]
    body: dict[str, Any] = {"ds": {"GLBudgetHd": [{**fresh, "RowMod": "A"}], "GLBudgetDtl": rows}}
    if method == "UpdateExt":
        body |= {"continueProcessingOnError": False, "rollbackParentOnChildError": False}
    reply = await epicor.method(SVC, method, body)
    assert reply.status == 400, reply.text
    assert await _tables(epicor) == before
    counters = (await epicor.counters())["counters"]
    assert counters["budget_writes"] == 1


async def test_rollback_parent_restores_only_the_parent_whose_period_failed(
    epicor: Epicor,
) -> None:
    seeded = await _seeded_header(epicor)
    fresh = {**seeded, "BalanceAcct": await _unbudgeted_account(epicor)}
    seeded_url = (
        f"{SVC}/AccountBudgets('EPIC06','MAIN','{seeded['BalanceAcct']}','D',"
        f"{seeded['FiscalYear']},'','MAIN','{seeded['BudgetCodeID']}')"
    )
    was = await epicor.ok(seeded_url, **{"$expand": "GLBudgetDtls"})
    reply = await epicor.method(
        SVC,
        "UpdateExt",
        {
            "ds": {
                "GLBudgetHd": [fresh],
                "GLBudgetDtl": [
                    {**seeded, "FiscalPeriod": 1, "BudgetAmt": "1.11"},
                    {**fresh, "FiscalPeriod": 4, "BudgetAmt": "40.50"},
                    {**seeded, "FiscalPeriod": 2, "RowMod": "D"},
                    {**fresh, "FiscalPeriod": 5, "BudgetAmt": "9.50"},
                    {**seeded, "FiscalPeriod": 0, "BudgetAmt": "5"},
                ],
            },
            "continueProcessingOnError": True,
            "rollbackParentOnChildError": True,
        },
    )
    assert reply.status == 200, reply.text
    errors = reply.body["returnObj"]["BOUpdError"]
    assert [(e["TableName"], e["ErrorText"]) for e in errors] == [
        ("GLBudgetDtl", "Fiscal period 0 is not valid.")
    ]
    assert await epicor.ok(seeded_url, **{"$expand": "GLBudgetDtls"}) == was
    written = await epicor.ok(
        f"{SVC}/AccountBudgets('EPIC06','MAIN','{fresh['BalanceAcct']}','D',"
        f"{fresh['FiscalYear']},'','MAIN','{fresh['BudgetCodeID']}')",
        **{"$expand": "GLBudgetDtls"},
    )
    assert [(d["FiscalPeriod"], d["BudgetAmt"]) for d in written["GLBudgetDtls"]] == [
        (4, 40.5),
        (5, 9.5),
    ]
    assert Decimal(str(written["TotalBudgetAmt"])) == Decimal("50.00")


async def test_journals_of_one_group_post_their_own_lines(epicor: Epicor) -> None:
    first = await enter_journal(
        epicor, "TWOJE", "2025-05-20", [(EXPENSE, "70.00", "0"), (CASH, "0", "70.00")]
    )
    ds = (
        await epicor.method(
            JE,
            "GetNewGlJrnHedTran",
            {"ds": {"GLJrnHed": [], "GLJrnDtlMnl": []}, "GroupID": "TWOJE"},
        )
    ).body["parameters"]["ds"]
    ds = (await epicor.method(JE, "Update", {"ds": ds})).body["parameters"]["ds"]
    second = ds["GLJrnHed"][0]
    assert second["JournalNum"] == first["JournalNum"] + 1
    for account, debit, credit in ((CASH, "0", "12.25"), (EXPENSE, "12.25", "0")):
        ds = (
            await epicor.method(
                JE,
                "GetNewGLJrnDtlMnl",
                {
                    "ds": ds,
                    "bookID": second["BookID"],
                    "fiscalYear": second["FiscalYear"],
                    "fiscalYearSuffix": "",
                    "journalCode": second["JournalCode"],
                    "journalNum": second["JournalNum"],
                    "journalLine": 0,
                },
            )
        ).body["parameters"]["ds"]
        ds["GLJrnDtlMnl"][-1].update({"GLAccount": account, "TotDebit": debit, "TotCredit": credit})
        ds = (await epicor.method(JE, "Update", {"ds": ds})).body["parameters"]["ds"]
    posted = await post(epicor, "TWOJE")
    assert posted.status == 200, posted.text
    lines = await epicor.ok(
        "Erp.BO.GLJrnDtlSvc/GLJrnDtls",
        **{"$filter": "GroupID eq 'TWOJE'", "$orderby": "JournalNum,JournalLine"},
    )
    assert [
        (r["JournalNum"], r["JournalLine"], r["GLAccount"], r["DebitAmount"], r["CreditAmount"])
        for r in lines["value"]
    ] == [
        (first["JournalNum"], 1, EXPENSE, 70, 0),
        (first["JournalNum"], 2, CASH, 0, 70),
        (second["JournalNum"], 1, CASH, 0, 12.25),
        (second["JournalNum"], 2, EXPENSE, 12.25, 0),
    ]
    counters = (await epicor.counters())["counters"]
    assert counters["journal_posts"] == 1 and counters["journal_lines_posted"] == 4
    assert (await epicor.method(GRP, "GetByID", {"groupID": "TWOJE"})).status == 400
