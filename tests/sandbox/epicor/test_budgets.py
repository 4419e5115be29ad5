"""Budgets through AccountBudgetSvc: OData writes and UpdateExt, read back; budget_writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.epicor.support import Epicor

pytestmark = pytest.mark.anyio

SVC = "Erp.BO.AccountBudgetSvc"
ACCOUNT = "6100|11|30"
HEADER_KEY = f"('EPIC06','MAIN','{ACCOUNT}','D',2025,'','MAIN','FCST')"


def _header(account: str = ACCOUNT, code: str = "FCST") -> dict[str, Any]:
    return {
        "Company": "EPIC06",
        "BookID": "MAIN",
        "BalanceAcct": account,
        "BalanceType": "D",
        "FiscalYear": 2025,
        "FiscalYearSuffix": "",
        "FiscalCalendarID": "MAIN",
        "BudgetCodeID": code,
    }


async def _budget_writes(epicor: Epicor) -> int:
    return int((await epicor.counters())["counters"].get("budget_writes", 0))


async def test_budget_written_through_odata_reads_back(epicor: Epicor) -> None:
    created = await epicor.call("POST", f"{epicor.odata}/{SVC}/AccountBudgets", json=_header())
    assert created.status == 201, created.text
    assert created.body["TotalBudgetAmt"] == 0
    assert created.body["SegValue1"] == "6100" and created.headers["Location"].endswith(HEADER_KEY)
    for period, amount in ((1, "1000.00"), (2, "2500.50"), (3, "-125.25")):
        detail = {**_header(), "FiscalPeriod": period, "BudgetAmt": amount}
        reply = await epicor.call("POST", f"{epicor.odata}/{SVC}/GLBudgetDtls", json=detail)
        assert reply.status == 201, reply.text
    patched = await epicor.call(
        "PATCH",
        f"{epicor.odata}/{SVC}/GLBudgetDtls('EPIC06','MAIN','{ACCOUNT}','D',2025,'',2,'MAIN','FCST')",
        json={"BudgetAmt": 3000},
    )
    assert patched.status == 204, patched.text
    read = await epicor.ok(f"{SVC}/AccountBudgets{HEADER_KEY}", **{"$expand": "GLBudgetDtls"})
    amounts = {d["FiscalPeriod"]: Decimal(str(d["BudgetAmt"])) for d in read["GLBudgetDtls"]}
    assert amounts == {1: Decimal("1000"), 2: Decimal("3000"), 3: Decimal("-125.25")}
    assert Decimal(str(read["TotalBudgetAmt"])) == Decimal("3874.75")
    navigated = await epicor.ok(
        f"{SVC}/AccountBudgets{HEADER_KEY}/GLBudgetDtls",
        **{"$filter": "FiscalPeriod ge 2", "$select": "FiscalPeriod"},
    )
    assert [row["FiscalPeriod"] for row in navigated["value"]] == [2, 3]
    assert await _budget_writes(epicor) == 5


async def test_budget_rules_and_conflicts(epicor: Epicor) -> None:
    url = f"{epicor.odata}/{SVC}"
    orphan = await epicor.call(
        "POST", f"{url}/GLBudgetDtls", json={**_header(), "FiscalPeriod": 1, "BudgetAmt": 1}
    )
    assert orphan.status == 400 and "header" in orphan.body["ErrorMessage"]
    bad_account = await epicor.call("POST", f"{url}/AccountBudgets", json=_header("9999|99|99"))
    assert bad_account.status == 400
    assert bad_account.body["ErrorType"] == "Ice.Common.BusinessObjectException"
    inactive = await epicor.call("POST", f"{url}/AccountBudgets", json=_header(code="OLD"))
    assert inactive.status == 400
    assert (await epicor.call("POST", f"{url}/AccountBudgets", json=_header())).status == 201
    duplicate = await epicor.call("POST", f"{url}/AccountBudgets", json=_header())
    assert duplicate.status == 409
    assert duplicate.body["ErrorType"] == "Ice.Common.DuplicateRecordException"
    bad_period = await epicor.call(
        "POST", f"{url}/GLBudgetDtls", json={**_header(), "FiscalPeriod": 13, "BudgetAmt": 1}
    )
    assert bad_period.status == 400
    unknown_field = await epicor.call("POST", f"{url}/AccountBudgets", json={"Nope": 1})
    assert unknown_field.status == 400
    assert unknown_field.body["ErrorMessage"] == "Unable to deserialize entity."


async def test_stale_sys_rev_id_is_refused(epicor: Epicor) -> None:
    existing = (await epicor.ok(f"{SVC}/GLBudgetDtls", **{"$top": "1"}))["value"][0]
    key = (
        f"('EPIC06','MAIN','{existing['BalanceAcct']}','D',{existing['FiscalYear']},'',"
        f"{existing['FiscalPeriod']},'MAIN','{existing['BudgetCodeID']}')"
    )
    url = f"{epicor.odata}/{SVC}/GLBudgetDtls{key}"
    fresh = await epicor.call("PATCH", url, json={"BudgetAmt": 1, "SysRevID": existing["SysRevID"]})
    assert fresh.status == 204
    stale = await epicor.call("PATCH", url, json={"BudgetAmt": 2, "SysRevID": existing["SysRevID"]})
    assert stale.status == 400
    assert "modified by another user" in stale.body["ErrorMessage"]


async def test_update_ext_upserts_periods_and_get_by_id_reads_them(epicor: Epicor) -> None:
    seeded = (await epicor.ok(f"{SVC}/AccountBudgets", **{"$top": "1"}))["value"][0]
    account = seeded["BalanceAcct"]
    rows = [
        {
            "BalanceAcct": account,
            "FiscalYear": 2025,
            "FiscalPeriod": period,
            "BudgetCodeID": "MAIN",
            "BudgetAmt": str(period * 100),
        }
        for period in range(1, 13)
    ]
    budgeted = {row["BalanceAcct"] for row in await epicor.all_rows(f"{SVC}/AccountBudgets")}
    accounts = await epicor.all_rows(
        "Erp.BO.GLAccountSvc/GLAccounts", **{"$filter": "startswith(GLAccount1,'6')"}
    )
    new_account = next(a["GLAccount1"] for a in accounts if a["GLAccount1"] not in budgeted)
    header = {"BalanceAcct": new_account, "FiscalYear": 2025, "BudgetCodeID": "MAIN"}
    rows.append({**header, "FiscalPeriod": 6, "BudgetAmt": "42.00"})
    reply = await epicor.method(
        SVC,
        "UpdateExt",
        {
            "ds": {"GLBudgetHd": [header], "GLBudgetDtl": rows},
            "continueProcessingOnError": True,
            "rollbackParentOnChildError": False,
        },
    )
    assert reply.status == 200, reply.text
    assert reply.body["parameters"]["errorsOccurred"] is False
    assert reply.body["returnObj"]["BOUpdError"] == []
    by_id = await epicor.call(
        "GET",
        f"{epicor.odata}/{SVC}/GetByID",
        params={
            "bookID": "MAIN",
            "balanceAcct": account,
            "balanceType": "D",
            "fiscalYear": "2025",
            "fiscalYearSuffix": "",
            "fiscalCalendarID": "MAIN",
            "budgetCodeID": "MAIN",
        },
    )
    assert by_id.status == 200, by_id.text
    ds = by_id.body["returnObj"]
    assert {d["FiscalPeriod"]: d["BudgetAmt"] for d in ds["GLBudgetDtl"]} == {
        p: p * 100 for p in range(1, 13)
    }
    assert ds["GLBudgetHd"][0]["TotalBudgetAmt"] == sum(p * 100 for p in range(1, 13))
    created = await epicor.ok(
        f"{SVC}/AccountBudgets('EPIC06','MAIN','{new_account}','D',2025,'','MAIN','MAIN')",
        **{"$expand": "GLBudgetDtls"},
    )
    assert [(d["FiscalPeriod"], d["BudgetAmt"]) for d in created["GLBudgetDtls"]] == [(6, 42)]
    assert await _budget_writes(epicor) == 1


async def test_update_ext_errors(epicor: Epicor) -> None:
    good = {"BalanceAcct": "6100|11|30", "FiscalYear": 2025, "BudgetCodeID": "FCST"}
    bad = {"BalanceAcct": "0000|00|00", "FiscalYear": 2025, "BudgetCodeID": "FCST"}
    strict = await epicor.method(
        SVC,
        "UpdateExt",
        {
            "ds": {"GLBudgetHd": [good, bad]},
            "continueProcessingOnError": False,
            "rollbackParentOnChildError": False,
        },
    )
    assert strict.status == 400
    gone = await epicor.get(
        f"{SVC}/AccountBudgets('EPIC06','MAIN','6100|11|30','D',2025,'','MAIN','FCST')"
    )
    assert gone.status == 404, "a failed strict UpdateExt must write nothing"
    lenient = await epicor.method(
        SVC,
        "UpdateExt",
        {
            "ds": {"GLBudgetHd": [good, bad]},
            "continueProcessingOnError": True,
            "rollbackParentOnChildError": False,
        },
    )
    assert lenient.status == 200
    assert lenient.body["parameters"]["errorsOccurred"] is True
    errors = lenient.body["returnObj"]["BOUpdError"]
    assert len(errors) == 1 and errors[0]["TableName"] == "GLBudgetHd"
    kept = await epicor.get(
        f"{SVC}/AccountBudgets('EPIC06','MAIN','6100|11|30','D',2025,'','MAIN','FCST')"
    )
    assert kept.status == 200
    missing = await epicor.method(SVC, "UpdateExt", {"ds": {"GLBudgetHd": []}})
    assert missing.status == 400
    assert (
        missing.body["ErrorMessage"]
        == "Parameter continueProcessingOnError is not found in the input object"
    )


async def test_rollback_parent_on_child_error(epicor: Epicor) -> None:
    header = {"BalanceAcct": "6100|11|30", "FiscalYear": 2025, "BudgetCodeID": "FCST"}
    reply = await epicor.method(
        SVC,
        "UpdateExt",
        {
            "ds": {
                "GLBudgetHd": [header],
                "GLBudgetDtl": [
                    {**header, "FiscalPeriod": 1, "BudgetAmt": 5},
                    {**header, "FiscalPeriod": 14, "BudgetAmt": 5},
                ],
            },
            "continueProcessingOnError": True,
            "rollbackParentOnChildError": True,
        },
    )
    assert reply.status == 200 and reply.body["parameters"]["errorsOccurred"] is True
    gone = await epicor.get(
        f"{SVC}/AccountBudgets('EPIC06','MAIN','6100|11|30','D',2025,'','MAIN','FCST')"
    )
    assert gone.status == 404
