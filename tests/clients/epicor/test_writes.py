"""Writing Epicor over real HTTP: methods, entity writes, journal posting, budgets, and
looking before retrying a write whose outcome is unknown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from mlc.epicor import entities
from mlc.epicor.budgets import BudgetAmount, pending_amounts, upsert_budgets
from mlc.epicor.client import EpicorClient
from mlc.epicor.errors import EpicorConflict, EpicorRequestError
from mlc.epicor.journals import ENTRY_SVC, GROUP_SVC, JournalEntry, JournalLine, JournalPoster
from mlc.epicor.lookups import find_journal_by_reference
from mlc.http import OutcomeUnknown
from mlc.sandbox.common.chart import GL_ACCOUNTS
from tests.clients.epicor.support import Sandbox, basic_client, serve_sandbox

pytestmark = pytest.mark.anyio

DEBIT_ACCOUNT = GL_ACCOUNTS[-1].account
CREDIT_ACCOUNT = GL_ACCOUNTS[0].account


def entry(sandbox: Sandbox, reference: str = "MLC-TEST-0001") -> JournalEntry:
    year = sandbox.info["fiscal_year"]
    return JournalEntry(
        group_id="MLC0001",
        reference=reference,
        je_date=date(year, 3, 31).isoformat(),
        description="Budget reclass",
        lines=[
            JournalLine(DEBIT_ACCOUNT, Decimal("1250.50"), "reclass in"),
            JournalLine(CREDIT_ACCOUNT, Decimal("-1000.00"), "reclass out"),
            JournalLine(CREDIT_ACCOUNT, Decimal("-250.50"), "reclass out"),
        ],
    )


async def balance(epicor: EpicorClient, account: str, year: int, period: int) -> Decimal:
    rows = [
        row
        async for row in epicor.rows(
            entities.GL_PERIOD_BALANCES,
            equal={"BalanceAcct": account, "FiscalYear": year, "FiscalPeriod": period},
        )
    ]
    assert len(rows) == 1
    return rows[0].BalanceAmt


async def domain_counter(sandbox: Sandbox, name: str) -> int:
    counters = (await sandbox.control("GET", "/_sandbox/counters"))["counters"]
    return int(counters.get(name, 0))


async def test_a_method_call_returns_its_out_parameters() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        result = await epicor.call(
            GROUP_SVC, "GetNewGLJrnGrp", {"ds": {"GLJrnGrp": []}}, idempotent=True
        )
        assert result.returnObj is None
        assert result.parameters is not None
        [row] = result.parameters["ds"]["GLJrnGrp"]
        assert (row["RowMod"], row["Company"], row["JournalCode"]) == ("A", "EPIC06", "GJ")
        with pytest.raises(EpicorRequestError) as caught:
            await epicor.call(GROUP_SVC, "GetByID", {"groupID": "NOPE"}, idempotent=True)
        assert str(caught.value).startswith(
            "epicor.test: POST /ERP11/api/v2/odata/EPIC06/Erp.BO.GLJrnGrpSvc/GetByID → 400"
        )
        assert "Journal group NOPE not found." in str(caught.value)


async def test_entity_create_update_and_conflict() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        fields = {"Company": "EPIC06", "BudgetCodeID": "STRETCH", "BudgetCodeDesc": "Stretch"}
        created = await epicor.create(entities.BUDGET_CODES, fields)
        assert (created.BudgetCodeID, created.BudgetCodeDesc) == ("STRETCH", "Stretch")
        await epicor.update(
            entities.BUDGET_CODES, ["EPIC06", "STRETCH"], {"BudgetCodeDesc": "Stretch goal"}
        )
        again = await epicor.get(entities.BUDGET_CODES, ["EPIC06", "STRETCH"])
        assert again.BudgetCodeDesc == "Stretch goal"
        assert again.SysRevID > created.SysRevID
        with pytest.raises(EpicorConflict, match="409"):
            await epicor.create(entities.BUDGET_CODES, fields)


async def test_posting_a_journal_moves_the_balances_once() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        journal = entry(sandbox)
        year = sandbox.info["fiscal_year"]
        before = await balance(epicor, DEBIT_ACCOUNT, year, 3)
        assert (await find_journal_by_reference(epicor, journal.reference)).absent

        posted = await JournalPoster(epicor).post(journal)

        assert (posted.group_id, posted.lines) == ("MLC0001", 3)
        lookup = await find_journal_by_reference(epicor, journal.reference)
        assert lookup.posted and not lookup.pending
        assert sorted(line.DebitAmount - line.CreditAmount for line in lookup.posted_lines) == [
            Decimal("-1000.00"),
            Decimal("-250.50"),
            Decimal("1250.50"),
        ]
        assert {line.JournalNum for line in lookup.posted_lines} == {posted.journal_num}
        assert await balance(epicor, DEBIT_ACCOUNT, year, 3) == before + Decimal("1250.50")


async def test_a_lost_answer_to_posting_is_looked_up_not_reposted() -> None:
    """The connection drops after Epicor posted: OutcomeUnknown, then the look-up says done."""
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        journal = entry(sandbox)
        await sandbox.fault(kind="drop", when="after", route="PostGroupJournals$")
        with pytest.raises(OutcomeUnknown, match="PostGroupJournals"):
            await JournalPoster(epicor).post(journal)
        route = sandbox.route("Erp.BO.GLJrnGrpSvc/PostGroupJournals")
        assert await sandbox.count(route=route) == 1

        lookup = await find_journal_by_reference(epicor, journal.reference)
        assert lookup.posted
        assert len(lookup.posted_lines) == 3
        assert await domain_counter(sandbox, "journal_posts") == 1


async def test_the_once_policy_sees_every_write_and_can_recover_in_place() -> None:
    """A policy that looks before resending finishes the posting after a lost answer."""
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        journal = entry(sandbox)
        writes: list[str] = []

        async def look_then_resend(
            send: Callable[[], Awaitable[Any]], happened: Callable[[], Awaitable[bool]], call: str
        ) -> Any:
            writes.append(call.split(" ")[0])
            try:
                return await send()
            except OutcomeUnknown:
                if await happened():
                    return {}
                return await send()

        await sandbox.fault(kind="drop", when="after", route="PostGroupJournals$")
        posted = await JournalPoster(epicor, once=look_then_resend).post(journal)

        assert writes == [
            f"{GROUP_SVC}/Update",
            f"{ENTRY_SVC}/Update",
            f"{ENTRY_SVC}/Update",
            f"{GROUP_SVC}/PostGroupJournals",
        ]
        route = sandbox.route("Erp.BO.GLJrnGrpSvc/PostGroupJournals")
        assert await sandbox.count(route=route) == 1
        assert await domain_counter(sandbox, "journal_posts") == 1
        lookup = await find_journal_by_reference(epicor, journal.reference)
        assert [line.JournalNum for line in lookup.posted_lines] == [posted.journal_num] * 3


async def test_an_interrupted_entry_is_discarded_and_entered_again() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        journal = entry(sandbox)
        year = sandbox.info["fiscal_year"]
        before = await balance(epicor, DEBIT_ACCOUNT, year, 3)
        await sandbox.fault(
            kind="status", status=503, method="POST", route="GLJournalEntrySvc/Update$", count=1
        )
        with pytest.raises(OutcomeUnknown, match=r"GLJournalEntrySvc/Update → 503"):
            await JournalPoster(epicor).post(journal)
        update = sandbox.route("Erp.BO.GLJournalEntrySvc/Update")
        assert await sandbox.count(route=update, status=503) == 1
        assert await sandbox.count(route=update) == 1

        assert not (await find_journal_by_reference(epicor, journal.reference)).posted
        poster = JournalPoster(epicor)
        assert await poster.group_exists(journal.group_id)
        posted = await poster.post(journal)

        lookup = await find_journal_by_reference(epicor, journal.reference)
        assert [line.JournalNum for line in lookup.posted_lines] == [posted.journal_num] * 3
        assert await balance(epicor, DEBIT_ACCOUNT, year, 3) == before + Decimal("1250.50")
        assert not await poster.group_exists(journal.group_id)


async def test_budgets_are_upserted_and_read_back() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        year = sandbox.info["fiscal_year"]
        amounts = [
            BudgetAmount(account, year, period, Decimal(f"{period}00.25") * sign, "FCST")
            for account, sign in ((DEBIT_ACCOUNT, 1), (CREDIT_ACCOUNT, -1))
            for period in (1, 2, 3)
        ]
        assert await pending_amounts(epicor, amounts) == amounts
        await upsert_budgets(epicor, amounts)
        assert await pending_amounts(epicor, amounts) == []

        revised = [*amounts[:5], BudgetAmount(CREDIT_ACCOUNT, year, 3, Decimal("-1"), "FCST")]
        assert await pending_amounts(epicor, revised) == [revised[5]]

        await sandbox.fault(kind="drop", when="after", route="AccountBudgetSvc/UpdateExt$")
        with pytest.raises(OutcomeUnknown):
            await upsert_budgets(epicor, revised)
        assert await pending_amounts(epicor, revised) == []
        assert await sandbox.count(route=sandbox.route("Erp.BO.AccountBudgetSvc/UpdateExt")) == 2


async def test_a_refused_budget_row_fails_the_whole_batch() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        year = sandbox.info["fiscal_year"]
        good = BudgetAmount(DEBIT_ACCOUNT, year, 1, Decimal("10"), "FCST")
        bad = BudgetAmount("9999|99|99", year, 1, Decimal("10"), "FCST")
        with pytest.raises(EpicorRequestError, match=r"GL Account 9999\|99\|99 is not valid"):
            await upsert_budgets(epicor, [good, bad])
        assert await pending_amounts(epicor, [good]) == [good]
