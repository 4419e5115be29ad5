"""GL journal entry and posting through GLJrnGrpSvc / GLJournalEntrySvc, visible in GLJrnDtls."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.epicor.support import BALANCES, Epicor, options, served

pytestmark = pytest.mark.anyio

GRP = "Erp.BO.GLJrnGrpSvc"
JE = "Erp.BO.GLJournalEntrySvc"
EXPENSE = "6100|22|10"
CASH = "1000|11|00"


async def _ok(reply: Any) -> dict[str, Any]:
    assert reply.status == 200, reply.text
    body: dict[str, Any] = reply.body
    return body


async def enter_journal(
    epicor: Epicor, group_id: str, je_date: str, lines: list[tuple[str, str, str]]
) -> dict[str, Any]:
    """The documented call sequence; lines are (account, debit, credit). Returns the journal."""
    ds = (await _ok(await epicor.method(GRP, "GetNewGLJrnGrp", {"ds": {"GLJrnGrp": []}})))[
        "parameters"
    ]["ds"]
    group = ds["GLJrnGrp"][0]
    assert group["RowMod"] == "A"
    group.update({"GroupID": group_id, "JournalCode": "GJ", "JEDate": je_date})
    checked = await _ok(
        await epicor.method(
            GRP, "CheckFiscalYear", {"ds": ds, "cGroupID": group_id, "cJEDate": je_date}
        )
    )
    ds = checked["parameters"]["ds"]
    saved = await _ok(await epicor.method(GRP, "Update", {"ds": ds}))
    assert saved["parameters"]["ds"]["GLJrnGrp"][0]["GroupID"] == group_id
    empty: dict[str, list[Any]] = {"GLJrnHed": [], "GLJrnDtlMnl": []}
    ds = (
        await _ok(await epicor.method(JE, "GetNewGlJrnHedTran", {"ds": empty, "GroupID": group_id}))
    )["parameters"]["ds"]
    ds["GLJrnHed"][0]["Description"] = f"Sandbox journal {group_id}"
    pre = await _ok(await epicor.method(JE, "PreUpdate", {"ds": ds}))
    assert pre["parameters"]["RequiresUserInput"] is False
    ds = (await _ok(await epicor.method(JE, "Update", {"ds": pre["parameters"]["ds"]})))[
        "parameters"
    ]["ds"]
    head = ds["GLJrnHed"][0]
    assert head["JournalNum"] > 0
    for account, debit, credit in lines:
        ds = (
            await _ok(
                await epicor.method(
                    JE,
                    "GetNewGLJrnDtlMnl",
                    {
                        "ds": ds,
                        "bookID": head["BookID"],
                        "fiscalYear": head["FiscalYear"],
                        "fiscalYearSuffix": head["FiscalYearSuffix"],
                        "journalCode": head["JournalCode"],
                        "journalNum": head["JournalNum"],
                        "journalLine": 0,
                    },
                )
            )
        )["parameters"]["ds"]
        line = ds["GLJrnDtlMnl"][-1]
        line.update({"GLAccount": account, "TotDebit": debit, "TotCredit": credit})
        ds = (await _ok(await epicor.method(JE, "Update", {"ds": ds})))["parameters"]["ds"]
    return dict(ds["GLJrnHed"][0])


async def post(epicor: Epicor, group_id: str) -> Any:
    assert (await epicor.method(GRP, "UnlockGroup", {"inGroupID": group_id})).status == 200
    assert (await epicor.method(GRP, "CheckBeforePost", {"groupID": group_id})).status == 200
    return await epicor.method(GRP, "PostGroupJournals", {"postGroupID": group_id})


def _balance_url(account: str, year: int, period: int) -> str:
    return f"{BALANCES}('EPIC06','MAIN','{account}','D',{year},'',{period},'MAIN')"


async def test_posted_journal_is_visible_in_gl_jrn_dtls_and_moves_balances(epicor: Epicor) -> None:
    before_expense = await epicor.ok(_balance_url(EXPENSE, 2025, 5))
    before_cash = await epicor.ok(_balance_url(CASH, 2025, 5))
    newest = await epicor.ok(
        BALANCES, **{"$orderby": "SysRevID desc", "$top": "1", "$select": "SysRevID"}
    )
    watermark = newest["value"][0]["SysRevID"]
    head = await enter_journal(
        epicor,
        "MLC0515",
        "2025-05-15T00:00:00",
        [(EXPENSE, "1250.40", "0"), (CASH, "0", "1250.40")],
    )
    assert Decimal(str(head["TotDebit"])) == Decimal(str(head["TotCredit"])) == Decimal("1250.40")
    posted = await post(epicor, "MLC0515")
    assert posted.status == 200, posted.text
    assert posted.body == {"parameters": {"NotAllPostedMessage": ""}}
    lines = await epicor.ok(
        "Erp.BO.GLJrnDtlSvc/GLJrnDtls",
        **{"$filter": "GroupID eq 'MLC0515'", "$orderby": "JournalLine"},
    )
    got = [
        (
            r["GLAccount"],
            r["DebitAmount"],
            r["CreditAmount"],
            r["Posted"],
            r["FiscalPeriod"],
            r["JournalNum"],
        )
        for r in lines["value"]
    ]
    number = head["JournalNum"]
    assert got == [(EXPENSE, 1250.4, 0, True, 5, number), (CASH, 0, 1250.4, True, 5, number)]
    after_expense = await epicor.ok(_balance_url(EXPENSE, 2025, 5))
    after_cash = await epicor.ok(_balance_url(CASH, 2025, 5))
    delta = Decimal(str(after_expense["BalanceAmt"])) - Decimal(str(before_expense["BalanceAmt"]))
    assert delta == Decimal("1250.40")
    assert Decimal(str(before_cash["BalanceAmt"])) - Decimal(
        str(after_cash["BalanceAmt"])
    ) == Decimal("1250.40")
    assert after_expense["SysRevID"] > before_expense["SysRevID"]
    delta_pull = await epicor.all_rows(
        BALANCES, **{"$filter": f"SysRevID gt {watermark}", "$select": "BalanceAcct,FiscalPeriod"}
    )
    assert sorted((r["BalanceAcct"], r["FiscalPeriod"]) for r in delta_pull) == [
        (CASH, 5),
        (EXPENSE, 5),
    ]
    group = await epicor.method(GRP, "GetByID", {"groupID": "MLC0515"})
    assert group.status == 400, "a posted group is deleted"
    counters = (await epicor.counters())["counters"]
    assert counters["journal_posts"] == 1 and counters["journal_lines_posted"] == 2


async def test_unbalanced_group_fails_to_post_and_posts_nothing(epicor: Epicor) -> None:
    before = await epicor.ok(_balance_url(EXPENSE, 2025, 5))
    await enter_journal(
        epicor, "MLCBAD", "2025-05-20", [(EXPENSE, "100.00", "0"), (CASH, "0", "90.00")]
    )
    reply = await post(epicor, "MLCBAD")
    assert reply.status == 400
    assert reply.body["ErrorType"] == "Ice.Common.BusinessObjectException"
    assert "out of balance" in reply.body["ErrorMessage"]
    assert (await epicor.ok(_balance_url(EXPENSE, 2025, 5)))["BalanceAmt"] == before["BalanceAmt"]
    nothing = await epicor.ok("Erp.BO.GLJrnDtlSvc/GLJrnDtls", **{"$filter": "GroupID eq 'MLCBAD'"})
    assert nothing["value"] == []
    group = await epicor.method(JE, "GetByGroupID", {"GroupID": "MLCBAD"})
    assert group.status == 200 and len(group.body["returnObj"]["GLJrnDtlMnl"]) == 2


async def test_posting_to_a_closed_period_fails() -> None:
    async with served(options(closed_periods=((2025, 4),))) as epicor:
        await enter_journal(epicor, "MLCAPR", "2025-04-30", [(EXPENSE, "5", "0"), (CASH, "0", "5")])
        reply = await post(epicor, "MLCAPR")
        assert reply.status == 400
        assert reply.body["ErrorMessage"].startswith("Fiscal period is closed")
        await epicor.control("POST", "epicor/periods", {"open": [[2025, 4]]})
        assert (await post(epicor, "MLCAPR")).status == 200


async def test_check_fiscal_year_warns_about_a_closed_period(epicor: Epicor) -> None:
    await epicor.control("POST", "epicor/periods", {"close": [[2025, 2]]})
    ds = (await epicor.method(GRP, "GetNewGLJrnGrp", {"ds": {"GLJrnGrp": []}})).body["parameters"][
        "ds"
    ]
    reply = await epicor.method(
        GRP, "CheckFiscalYear", {"ds": ds, "cGroupID": "X", "cJEDate": "2025-02-10T00:00:00"}
    )
    assert reply.status == 200
    assert "closed" in reply.body["parameters"]["opMessage"]


async def test_entry_rules(epicor: Epicor) -> None:
    ds = (await epicor.method(GRP, "GetNewGLJrnGrp", {"ds": {"GLJrnGrp": []}})).body["parameters"][
        "ds"
    ]
    ds["GLJrnGrp"][0].update({"GroupID": "DUP1", "JEDate": "2025-03-03"})
    assert (await epicor.method(GRP, "Update", {"ds": ds})).status == 200
    again = await epicor.method(GRP, "Update", {"ds": ds})
    assert again.status == 409
    future = {"GLJrnGrp": [{**ds["GLJrnGrp"][0], "GroupID": "FUT1", "JEDate": "2031-01-01"}]}
    refused = await epicor.method(GRP, "Update", {"ds": future})
    assert refused.status == 400 and "Fiscal year 2031" in refused.body["ErrorMessage"]
    await enter_journal(epicor, "BADACCT", "2025-03-04", [])
    ds = (await epicor.method(JE, "GetByGroupID", {"GroupID": "BADACCT"})).body["returnObj"]
    head = ds["GLJrnHed"][0]
    ds = (
        await epicor.method(
            JE,
            "GetNewGLJrnDtlMnl",
            {
                "ds": ds,
                "bookID": "MAIN",
                "fiscalYear": 2025,
                "fiscalYearSuffix": "",
                "journalCode": head["JournalCode"],
                "journalNum": head["JournalNum"],
                "journalLine": 0,
            },
        )
    ).body["parameters"]["ds"]
    ds["GLJrnDtlMnl"][-1].update({"GLAccount": "9999|99|99", "TotDebit": "1"})
    bad_account = await epicor.method(JE, "Update", {"ds": ds})
    assert bad_account.status == 400
    assert bad_account.body["ErrorMessage"] == "GL Account 9999|99|99 is not valid."
    assert bad_account.body["ErrorDetails"][0]["Field"] == "GLAccount"
    ds["GLJrnDtlMnl"][-1].update({"GLAccount": EXPENSE, "TotCredit": "1"})
    both = await epicor.method(JE, "Update", {"ds": ds})
    assert both.status == 400 and "both a debit and a credit" in both.body["ErrorMessage"]
    missing = await epicor.method(GRP, "PostGroupJournals", {})
    assert missing.status == 400
    assert missing.body["ErrorMessage"] == "Parameter postGroupID is not found in the input object"
    odata_write = await epicor.call(
        "POST", f"{epicor.odata}/{GRP}/GLJrnGrps", json={"GroupID": "Z"}
    )
    assert odata_write.status == 405


async def test_empty_group_cannot_post(epicor: Epicor) -> None:
    ds = (await epicor.method(GRP, "GetNewGLJrnGrp", {"ds": {"GLJrnGrp": []}})).body["parameters"][
        "ds"
    ]
    ds["GLJrnGrp"][0].update({"GroupID": "EMPTY1", "JEDate": "2025-03-03"})
    assert (await epicor.method(GRP, "Update", {"ds": ds})).status == 200
    reply = await post(epicor, "EMPTY1")
    assert reply.status == 400 and "no journals" in reply.body["ErrorMessage"]


async def test_signed_trans_amt_and_segment_values_work_too(epicor: Epicor) -> None:
    await enter_journal(epicor, "SIGNED", "2025-06-01", [])
    group = await epicor.method(JE, "GetByGroupID", {"GroupID": "SIGNED"})
    ds = group.body["returnObj"]
    head = ds["GLJrnHed"][0]
    for segments, amount in ((("6100", "22", "10"), "75.10"), (("1000", "11", "00"), "-75.10")):
        ds = (
            await epicor.method(
                JE,
                "GetNewGLJrnDtlMnl",
                {
                    "ds": ds,
                    "bookID": "MAIN",
                    "fiscalYear": head["FiscalYear"],
                    "fiscalYearSuffix": "",
                    "journalCode": head["JournalCode"],
                    "journalNum": head["JournalNum"],
                    "journalLine": 0,
                },
            )
        ).body["parameters"]["ds"]
        line = ds["GLJrnDtlMnl"][-1]
        line.update(
            {
                "SegValue1": segments[0],
                "SegValue2": segments[1],
                "SegValue3": segments[2],
                "TransAmt": amount,
            }
        )
        ds = (await epicor.method(JE, "Update", {"ds": ds})).body["parameters"]["ds"]
    assert (await post(epicor, "SIGNED")).status == 200
    posted = await epicor.ok("Erp.BO.GLJrnDtlSvc/GLJrnDtls", **{"$filter": "GroupID eq 'SIGNED'"})
    assert sorted(
        (r["GLAccount"], r["DebitAmount"], r["CreditAmount"]) for r in posted["value"]
    ) == [(CASH, 0, 75.1), (EXPENSE, 75.1, 0)]
    refused = await epicor.call(
        "PATCH",
        f"{epicor.odata}/Erp.BO.GLJrnDtlSvc/GLJrnDtls"
        f"('EPIC06','MAIN',2025,'','GJ',{head['JournalNum']},1)",
        json={"Description": "x"},
    )
    assert refused.status == 400
