"""Reading Epicor over real HTTP: paging, delta pulls, BAQs, keys, errors and retries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mlc.epicor import entities
from mlc.epicor.baq import BAQ_LAST_CHANGE, gl_balances_baq
from mlc.epicor.entities import EntitySet
from mlc.epicor.errors import (
    EpicorLicenseUnavailable,
    EpicorNotFound,
    EpicorProtocolError,
    EpicorRequestError,
    EpicorServerError,
)
from mlc.epicor.paging import PagingMode
from mlc.epicor.query import compare
from mlc.epicor.rows import GLPeriodBal, segments
from mlc.errors import UsageError
from mlc.sandbox.common.chart import GL_ACCOUNTS
from tests.clients.epicor.support import basic_client, serve_sandbox

pytestmark = pytest.mark.anyio

BALANCES = "Erp.BO.GLPeriodBalSearchSvc/GLPeriodBalSearches"


def balance_key(row: GLPeriodBal) -> tuple[str, int, int]:
    return (row.BalanceAcct, row.FiscalYear, row.FiscalPeriod)


async def test_every_row_of_100k_exactly_once_in_key_order() -> None:
    """Offset paging at the server's default cap of 100: a thousand pages, streamed.

    Only the previous key and a count are kept: strictly increasing keys prove that no row came
    twice and that the order held; the count, that none was missed.
    """
    async with serve_sandbox(rows=100_000) as sandbox, basic_client(sandbox) as (epicor, _):
        previous: tuple[str, int, int] | None = None
        seen = pages = largest = 0
        async for page in epicor.pages(entities.GL_PERIOD_BALANCES):
            pages += 1
            largest = max(largest, len(page))
            for row in page:
                key = balance_key(row)
                assert previous is None or key > previous, f"{key} after {previous}"
                previous = key
                seen += 1
        assert seen == sandbox.info["balance_rows"] == 100_000
        assert (pages, largest) == (1000, 100)
        assert await sandbox.count(route=sandbox.route(BALANCES), status=200) == 1001


async def test_keyset_paging_by_a_unique_marker_over_100k() -> None:
    async with serve_sandbox(rows=100_000) as sandbox, basic_client(sandbox) as (epicor, _):
        previous = -1
        seen = 0
        async for row in epicor.rows(
            entities.GL_PERIOD_BALANCES, paging=PagingMode.KEYSET, order_by=("SysRevID",)
        ):
            assert row.SysRevID > previous
            previous = row.SysRevID
            seen += 1
        assert seen == 100_000


async def test_keyset_paging_by_composite_key_matches_offset_paging() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        by_offset = [balance_key(row) async for row in epicor.rows(entities.GL_PERIOD_BALANCES)]
        by_keyset = [
            balance_key(row)
            async for row in epicor.rows(
                entities.GL_PERIOD_BALANCES, paging=PagingMode.KEYSET, equal={"BookID": "MAIN"}
            )
        ]
        assert by_keyset == by_offset
        assert len(by_offset) == sandbox.info["balance_rows"]


async def test_a_page_size_above_the_server_cap_is_caught() -> None:
    async with (
        serve_sandbox(page_cap=50) as sandbox,
        basic_client(sandbox, page_size=100) as (epicor, _),
    ):
        with pytest.raises(EpicorProtocolError, match="ended after 50 rows but the server counted"):
            async for _ in epicor.pages(entities.GL_ACCOUNTS):
                pass


@pytest.mark.parametrize(
    "entity",
    [
        entities.GL_ACCOUNTS,
        entities.COA_SEG_VALUES,
        entities.AP_INVOICES,
        entities.AP_INVOICE_LINES,
        entities.VENDORS,
        entities.BUDGET_CODES,
        entities.ACCOUNT_BUDGETS,
        entities.BUDGET_DETAILS,
        entities.JOURNAL_LINES,
    ],
    ids=lambda entity: entity.name,
)
async def test_each_row_type_decodes_what_the_server_sends(entity: EntitySet[Any]) -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        pages = epicor.pages(entity)
        first = await anext(pages)
        await pages.aclose()
        assert 0 < len(first) <= 100
        assert all(type(row) is entity.row_type for row in first)


async def test_delta_on_change_date_finds_only_rows_changed() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        everything = [row async for row in epicor.rows(entities.AP_INVOICE_LINES)]
        watermark = max(row.ChangeDate for row in everything if row.ChangeDate is not None)
        since = sandbox.now_naive()
        assert watermark <= since
        await sandbox.advance(60)
        changed = await sandbox.mutate(set="APInvDtls", count=3)
        expected = {(c["VendorNum"], c["InvoiceNum"], c["InvoiceLine"]) for c in changed["changed"]}

        delta = [row async for row in epicor.rows(entities.AP_INVOICE_LINES, changed_since=since)]
        assert {(r.VendorNum, r.InvoiceNum, r.InvoiceLine) for r in delta} == expected
        assert all(row.ChangeDate is not None and row.ChangeDate > since for row in delta)

        headers = [row async for row in epicor.rows(entities.AP_INVOICES, changed_since=since)]
        assert {(r.VendorNum, r.InvoiceNum) for r in headers} == {k[:2] for k in expected}

        # The watermark compares with `ge`: a pull from the newest change date reads again exactly
        # the rows stamped at that instant (the mutation stamps each row as it writes it, so
        # that may be one row or all three), and nothing older.
        nothing_new = max(row.ChangeDate for row in delta if row.ChangeDate is not None)
        at_the_boundary = {
            (r.VendorNum, r.InvoiceNum, r.InvoiceLine) for r in delta if r.ChangeDate == nothing_new
        }
        again = [
            row async for row in epicor.rows(entities.AP_INVOICE_LINES, changed_since=nothing_new)
        ]
        assert {(r.VendorNum, r.InvoiceNum, r.InvoiceLine) for r in again} == at_the_boundary
        assert at_the_boundary


async def test_delta_on_revision_for_balances_and_through_the_baq() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        watermark = 0
        async for row in epicor.rows(entities.GL_PERIOD_BALANCES):
            watermark = max(watermark, row.SysRevID)
        since = sandbox.now_naive()
        await sandbox.advance(60)
        changed = await sandbox.mutate(set="GLPeriodBalSearches", count=5, amount=100)
        expected = {
            (c["BalanceAcct"], c["FiscalYear"], c["FiscalPeriod"]): Decimal(str(c["BalanceAmt"]))
            for c in changed["changed"]
        }

        delta = [
            row async for row in epicor.rows(entities.GL_PERIOD_BALANCES, changed_since=watermark)
        ]
        assert {balance_key(row): row.BalanceAmt for row in delta} == expected

        baq = gl_balances_baq(sandbox.info["baq_id"])
        by_revision = [row async for row in epicor.baq_rows(baq, changed_since=watermark)]
        by_time = [
            row
            async for row in epicor.baq_rows(
                gl_balances_baq(sandbox.info["baq_id"], BAQ_LAST_CHANGE), changed_since=since
            )
        ]
        for rows in (by_revision, by_time):
            assert {
                (r.GLPeriodBal_BalanceAcct, r.GLPeriodBal_FiscalYear, r.GLPeriodBal_FiscalPeriod): (
                    r.GLPeriodBal_BalanceAmt
                )
                for r in rows
            } == expected
        assert all(
            r.Calculated_LastChange is not None and r.Calculated_LastChange > since for r in by_time
        )


async def test_child_sets_are_not_paged_by_key() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        with pytest.raises(UsageError, match="APInvDtls is a child set"):
            async for _ in epicor.pages(entities.AP_INVOICE_LINES, paging=PagingMode.KEYSET):
                pass


async def test_baq_rows_agree_with_the_entity_set() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        account = GL_ACCOUNTS[-1].account
        entity_rows = {
            (r.FiscalYear, r.FiscalPeriod): (r.BalanceAmt, r.DebitAmt, r.CreditAmt)
            async for r in epicor.rows(
                entities.GL_PERIOD_BALANCES, equal={"BookID": "MAIN", "BalanceAcct": account}
            )
        }
        baq_rows = {
            (r.GLPeriodBal_FiscalYear, r.GLPeriodBal_FiscalPeriod): (
                r.GLPeriodBal_BalanceAmt,
                r.GLPeriodBal_DebitAmt,
                r.GLPeriodBal_CreditAmt,
            )
            async for r in epicor.baq_rows(
                gl_balances_baq(sandbox.info["baq_id"]),
                equal={"GLPeriodBal_BookID": "MAIN", "GLPeriodBal_BalanceAcct": account},
                page_size=10,
            )
        }
        assert len(entity_rows) == 26
        assert baq_rows == entity_rows


async def test_get_and_find_by_key() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        chart = GL_ACCOUNTS[-1]
        account = await epicor.get(entities.GL_ACCOUNTS, ["EPIC06", "MAIN", chart.account])
        assert (account.GLAccount1, account.SegValue1, account.SegValue2, account.SegValue3) == (
            chart.account,
            chart.natural,
            chart.cost_center,
            chart.site,
        )
        assert segments(account.GLAccount1) == (chart.natural, chart.cost_center, chart.site)
        assert await epicor.find(entities.GL_ACCOUNTS, ["EPIC06", "MAIN", "9999|99|99"]) is None
        with pytest.raises(EpicorNotFound, match=r"→ 404 Not Found: Record not found\."):
            await epicor.get(entities.VENDORS, ["EPIC06", 999_999])


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("NoSuchField eq 1", "Could not find a property named 'NoSuchField'"),
        ("BalanceAcct eq", "BalanceAcct eq"),
        ("BalanceAcct eq 5", "BalanceAcct eq 5"),
    ],
)
async def test_a_malformed_query_is_a_clear_error_with_the_epicor_body(
    where: str, says: str
) -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        with pytest.raises(EpicorRequestError) as caught:
            async for _ in epicor.pages(entities.GL_PERIOD_BALANCES, where=where):
                pass
        message = str(caught.value)
        assert message.startswith(f"epicor.test: GET /ERP11/api/v2/odata/EPIC06/{BALANCES} → 400")
        assert "[Microsoft.OData.ODataException]" in message
        assert f"$filter={where}" in message
        assert says in message
        assert caught.value.error_type == "Microsoft.OData.ODataException"


async def test_a_5xx_burst_is_retried_for_reads() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, clock):
        await sandbox.fault(kind="status", status=503, count=3, route="GLAccounts$")
        names = [row.GLAccount1 async for row in epicor.rows(entities.GL_ACCOUNTS)]
        assert len(names) == len(set(names)) == 138
        route = sandbox.route("Erp.BO.GLAccountSvc/GLAccounts")
        assert await sandbox.count(route=route, status=503) == 3
        assert await sandbox.count(route=route, status=200) == 2
        assert len(clock.slept) == 3


async def test_a_server_that_keeps_failing_is_one_clear_error() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, clock):
        await sandbox.fault(
            kind="status",
            status=503,
            count=-1,
            route="Vendors",
            body={"HttpStatus": 503, "ErrorMessage": "Conversions pending.", "ErrorType": "X"},
        )
        with pytest.raises(EpicorServerError) as caught:
            await epicor.get(entities.VENDORS, ["EPIC06", 1])
        assert str(caught.value).startswith(
            "epicor.test: GET /ERP11/api/v2/odata/EPIC06/Erp.BO.VendorSvc/Vendors('EPIC06',1) → "
            "503 Service Unavailable: Conversions pending. [X]"
        )
        assert "after 5 attempts" in str(caught.value)
        assert len(clock.slept) == 4


async def test_license_exhaustion_is_its_own_error() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        await sandbox.fault(kind="license_exhausted", count=1)
        with pytest.raises(EpicorLicenseUnavailable, match="Maximum users exceeded"):
            await epicor.get(entities.VENDORS, ["EPIC06", 1])


async def test_lookups_that_match_more_than_a_page_refuse_to_guess() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox, page_size=10) as (epicor, _):
        rows = await epicor.query(entities.VENDORS, compare("VendorNum", "le", 3))
        assert [row.VendorNum for row in rows] == [1, 2, 3]
        with pytest.raises(EpicorProtocolError, match="matched 40 rows, more than one page of 10"):
            await epicor.query(entities.VENDORS, compare("VendorNum", "ge", 1))
