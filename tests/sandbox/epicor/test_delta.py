"""Delta pulls: the mutate control bumps modification markers; filters find exactly those rows."""

from __future__ import annotations

import pytest

from tests.sandbox.epicor.support import BALANCES, Epicor

pytestmark = pytest.mark.anyio

INVOICES = "Erp.BO.APInvoiceSvc/APInvoices"
LINES = "Erp.BO.APInvoiceSvc/APInvDtls"
BAQ = "BaqSvc/MLC-GLBalances/Data"


async def _clock(epicor: Epicor) -> str:
    state = await epicor.control("GET", "epicor/state")
    return str(state["seeded_at"])


async def test_change_date_filter_returns_only_changed_invoices(epicor: Epicor) -> None:
    everything = await epicor.all_rows(INVOICES, **{"$select": "InvoiceNum,ChangeDate"})
    watermark = max(row["ChangeDate"] for row in everything)
    nothing = await epicor.ok(INVOICES, **{"$filter": f"ChangeDate gt {watermark}"})
    assert nothing["value"] == []
    await epicor.control("POST", "clock", {"advance": 60})
    mutated = await epicor.control("POST", "epicor/mutate", {"set": "APInvoices", "count": 3})
    changed = {(row["VendorNum"], row["InvoiceNum"]) for row in mutated["changed"]}
    assert len(changed) == 3
    found = await epicor.all_rows(
        INVOICES,
        **{"$filter": f"ChangeDate gt {watermark}Z", "$select": "VendorNum,InvoiceNum,ChangeDate"},
    )
    assert {(row["VendorNum"], row["InvoiceNum"]) for row in found} == changed
    assert all(row["ChangeDate"] > watermark for row in found)


async def test_line_changes_cascade_to_their_invoice(epicor: Epicor) -> None:
    watermark = max(
        row["ChangeDate"] for row in await epicor.all_rows(LINES, **{"$select": "ChangeDate"})
    )
    await epicor.control("POST", "clock", {"advance": 5})
    mutated = await epicor.control(
        "POST", "epicor/mutate", {"set": "APInvDtls", "count": 1, "amount": "10.00"}
    )
    line = mutated["changed"][0]
    invoice_key = f"('EPIC06',{line['VendorNum']},'{line['InvoiceNum']}')"
    invoice = await epicor.ok(f"{INVOICES}{invoice_key}", **{"$expand": "APInvDtls"})
    assert invoice["ChangeDate"] > watermark
    total = sum(round(detail["ExtCost"] * 100) for detail in invoice["APInvDtls"])
    assert total == round(invoice["InvoiceAmt"] * 100)


async def test_balances_have_no_change_date_but_sys_rev_id_finds_exactly_the_written_rows(
    epicor: Epicor,
) -> None:
    refused = await epicor.get(BALANCES, **{"$filter": "ChangeDate gt 2025-01-01T00:00:00"})
    assert refused.status == 400
    newest = await epicor.ok(
        BALANCES, **{"$orderby": "SysRevID desc", "$top": "1", "$select": "SysRevID"}
    )
    watermark = newest["value"][0]["SysRevID"]
    mutated = await epicor.control(
        "POST", "epicor/mutate", {"set": "GLPeriodBalSearches", "count": 4}
    )
    changed = {
        (r["BalanceAcct"], r["FiscalYear"], r["FiscalPeriod"]): r for r in mutated["changed"]
    }
    assert len(changed) == 4
    found = await epicor.all_rows(
        BALANCES,
        **{
            "$filter": f"SysRevID gt {watermark}",
            "$orderby": "SysRevID",
            "$select": "BalanceAcct,FiscalYear,FiscalPeriod,BalanceAmt,SysRevID",
        },
    )
    assert {(r["BalanceAcct"], r["FiscalYear"], r["FiscalPeriod"]) for r in found} == set(changed)
    revisions = [row["SysRevID"] for row in found]
    assert revisions == sorted(revisions) and revisions[0] > watermark
    for row in found:
        key = (row["BalanceAcct"], row["FiscalYear"], row["FiscalPeriod"])
        assert row["BalanceAmt"] == changed[key]["BalanceAmt"]


async def test_baq_exposes_balances_with_table_field_names_and_a_modification_time(
    epicor: Epicor,
) -> None:
    first = await epicor.ok(BAQ, **{"$top": "2"})
    assert list(first["value"][0]) == [
        "GLPeriodBal_Company",
        "GLPeriodBal_BookID",
        "GLPeriodBal_BalanceAcct",
        "GLPeriodBal_FiscalYear",
        "GLPeriodBal_FiscalPeriod",
        "GLPeriodBal_BalanceAmt",
        "GLPeriodBal_DebitAmt",
        "GLPeriodBal_CreditAmt",
        "GLPeriodBal_SegValue1",
        "GLPeriodBal_SegValue2",
        "GLPeriodBal_SegValue3",
        "GLPeriodBal_SysRevID",
        "Calculated_LastChange",
    ]
    seeded_at = await _clock(epicor)
    before = await epicor.ok(BAQ, **{"$filter": f"Calculated_LastChange gt {seeded_at}"})
    assert before["value"] == []
    mutated = await epicor.control(
        "POST", "epicor/mutate", {"set": "GLPeriodBalSearches", "count": 3}
    )
    found = await epicor.all_rows(
        BAQ,
        **{
            "$filter": f"Calculated_LastChange gt {seeded_at}Z",
            "$select": "GLPeriodBal_BalanceAcct,GLPeriodBal_FiscalYear,GLPeriodBal_FiscalPeriod",
        },
    )
    expected = {(r["BalanceAcct"], r["FiscalYear"], r["FiscalPeriod"]) for r in mutated["changed"]}
    got = {
        (r["GLPeriodBal_BalanceAcct"], r["GLPeriodBal_FiscalYear"], r["GLPeriodBal_FiscalPeriod"])
        for r in found
    }
    assert got == expected


async def test_baq_keyset_paging_by_revision(epicor: Epicor) -> None:
    seen: list[int] = []
    last = 0
    while True:
        page = await epicor.ok(
            BAQ,
            **{
                "$filter": f"GLPeriodBal_SysRevID gt {last}",
                "$orderby": "GLPeriodBal_SysRevID",
                "$top": "500",
                "$select": "GLPeriodBal_SysRevID",
            },
        )
        values = [row["GLPeriodBal_SysRevID"] for row in page["value"]]
        seen.extend(values)
        if len(values) < 100:
            break
        last = values[-1]
    assert len(seen) == len(set(seen)) == epicor.section["balance_rows"]
    assert seen == sorted(seen)


async def test_unknown_baq_is_404(epicor: Epicor) -> None:
    reply = await epicor.get("BaqSvc/NoSuchQuery/Data")
    assert reply.status == 404


async def test_mutate_by_key_and_bad_requests(epicor: Epicor) -> None:
    key = {"BalanceAcct": "6100|22|10", "FiscalYear": 2025, "FiscalPeriod": 4}
    before = await epicor.ok(f"{BALANCES}('EPIC06','MAIN','6100|22|10','D',2025,'',4,'MAIN')")
    result = await epicor.control(
        "POST", "epicor/mutate", {"set": "GLPeriodBalSearches", "keys": [key], "amount": "-250.00"}
    )
    after = await epicor.ok(f"{BALANCES}('EPIC06','MAIN','6100|22|10','D',2025,'',4,'MAIN')")
    assert round((before["BalanceAmt"] - after["BalanceAmt"]) * 100) == 25000
    assert round((after["CreditAmt"] - before["CreditAmt"]) * 100) == 25000
    assert after["SysRevID"] == result["changed"][0]["SysRevID"] > before["SysRevID"]
    for body in (
        {"set": "Nope"},
        {"set": "Vendors", "count": 0},
        {"set": "Vendors", "count": 41},
        {
            "set": "GLPeriodBalSearches",
            "keys": [{"BalanceAcct": "0000|00|00", "FiscalYear": 2025, "FiscalPeriod": 1}],
        },
        {"set": "Vendors", "amount": "lots"},
    ):
        async with epicor.http.post(f"{epicor.api}/_sandbox/epicor/mutate", json=body) as reply:
            assert reply.status == 400, body
            assert (await reply.json())["error"]
