"""Larger balance sets: deep paging, bounded sorting, keyset paging, GLAccounts growing too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.sandbox.epicor.support import BALANCES, options, served

pytestmark = pytest.mark.anyio

ROWS = 5_000


async def test_rows_option_deep_skip_and_count() -> None:
    async with served(options(rows=ROWS)) as epicor:
        assert epicor.section["balance_rows"] == ROWS
        tail = await epicor.ok(
            BALANCES, **{"$skip": str(ROWS - 7), "$count": "true", "$select": "SysRevID"}
        )
        assert tail["@odata.count"] == ROWS
        assert len(tail["value"]) == 7
        accounts = await epicor.all_rows(
            "Erp.BO.GLAccountSvc/GLAccounts", **{"$select": "GLAccount1"}
        )
        assert len(accounts) == -(-ROWS // 26), "GL accounts grow with the balance set"


async def test_non_key_orderby_is_bounded_on_large_sets() -> None:
    async with served(options(rows=ROWS, max_sort_rows=1_000)) as epicor:
        everything = await epicor.all_rows(BALANCES, **{"$select": "BalanceAmt"})
        top = await epicor.ok(
            BALANCES, **{"$orderby": "BalanceAmt desc", "$top": "10", "$select": "BalanceAmt"}
        )
        expected = sorted((Decimal(str(r["BalanceAmt"])) for r in everything), reverse=True)[:10]
        assert [Decimal(str(r["BalanceAmt"])) for r in top["value"]] == expected
        deep = await epicor.get(BALANCES, **{"$orderby": "BalanceAmt", "$skip": "2000"})
        assert deep.status == 400
        assert "1000" in deep.body["ErrorMessage"]
        by_key = await epicor.get(
            BALANCES,
            **{"$orderby": "BalanceAcct,FiscalYear,FiscalPeriod", "$skip": "4000", "$top": "5"},
        )
        assert by_key.status == 200 and len(by_key.body["value"]) == 5


async def test_keyset_paging_by_key_reaches_every_row() -> None:
    async with served(options(rows=ROWS)) as epicor:
        seen: list[tuple[str, int, int]] = []
        condition = ""
        while True:
            params = {
                "$orderby": "BalanceAcct,FiscalYear,FiscalPeriod",
                "$top": "100",
                "$select": "BalanceAcct,FiscalYear,FiscalPeriod",
            }
            if condition:
                params["$filter"] = condition
            page = (await epicor.ok(BALANCES, **params))["value"]
            seen.extend((r["BalanceAcct"], r["FiscalYear"], r["FiscalPeriod"]) for r in page)
            if len(page) < 100:
                break
            account, year, period = seen[-1]
            condition = (
                f"BalanceAcct gt '{account}' or (BalanceAcct eq '{account}' and "
                f"(FiscalYear gt {year} or (FiscalYear eq {year} and FiscalPeriod gt {period})))"
            )
        assert len(seen) == len(set(seen)) == ROWS
        assert seen == sorted(seen)
