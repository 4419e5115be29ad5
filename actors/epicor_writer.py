"""The EpicorWriter: writes approved plan values into Epicor exactly once; owns the posting keys.

One actor per Epicor connection. It answers the outbound conversation of :mod:`mlc.messages`:

**Budgets** (``WriteBudgetCells``). Cells are grouped by AccountBudget header (GL account x fiscal
year). The writer first *reads* the headers' period rows from ``AccountBudgetSvc/GLBudgetDtls``
(up to 40 accounts per request, :func:`mlc.epicor.lookups.budget_details`); a cell Epicor already
holds at the approved value is ``unchanged`` and not written. The other cells go out in
``AccountBudgetSvc/UpdateExt`` calls of up to 25 headers with their periods — an upsert of absolute
amounts, all or nothing per call (``continueProcessingOnError`` false); a refused call is split
into one call per header, so the refusal names its header. When the outcome of a call is unknown
(:class:`mlc.http.OutcomeUnknown`) the writer reads the rows back and resends only the headers
Epicor does not hold. A posting key is stored (``posting_keys``) only after Epicor confirmed — for
written and for unchanged cells alike — so the store never claims a write Epicor does not hold,
and a crash between Epicor's answer and the store is resolved by the read on the next run.

**Journals** (``PostPlanJournal``), per flow, version and fiscal period: read what this flow's
journals posted in the period (posted lines whose ``CommentText`` starts with the flow's reference
prefix), plan the difference (:func:`mlc.flows.outbound.journal.plan_journal`), look the planned
reference up (:func:`mlc.epicor.lookups.find_journal_by_reference`: already posted means a crash
after posting, recorded as ``recovered``), then hand the journal to
:class:`mlc.epicor.journals.JournalPoster`, which owns the method sequence (reference/epicor.md
§4): it discards a group entered but never posted under the same deterministic group id, enters
and posts. The writer gives it its exactly-once policy (:meth:`EpicorWriter._once`): a write whose
outcome is unknown is resent only when the step's read says it did not happen, and a second
unknown outcome fails the journal.

``dry_run`` reads and plans exactly as above and writes nothing, not even posting keys.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from mlc.epicor import entities
from mlc.epicor.budgets import SERVICE as BUDGET_SERVICE
from mlc.epicor.budgets import BudgetAmount, pending_amounts, stored_amounts, upsert_budgets
from mlc.epicor.client import EpicorClient
from mlc.epicor.errors import EpicorError
from mlc.epicor.journals import JournalEntry, JournalFailed, JournalLine, JournalPoster
from mlc.epicor.lookups import budget_details, find_journal_by_reference
from mlc.epicor.query import all_of, any_of, compare, string_literal
from mlc.flows.budget_report import budget_vs_actual
from mlc.flows.outbound.journal import (
    OFFSET_DESCRIPTION,
    JournalPlan,
    PostedLine,
    line_description,
    plan_journal,
)
from mlc.flows.outbound.keys import journal_prefix
from mlc.flows.outbound.periods import FiscalPeriod
from mlc.http import OutcomeUnknown
from mlc.logs import redact
from mlc.messages import (
    BudgetCell,
    BudgetCellsWritten,
    BudgetTarget,
    BudgetVsActual,
    CellOutcome,
    EpicorWriterMessage,
    JournalOutcome,
    PostPlanJournal,
    ReadBudgetVsActual,
    ReadTargetChart,
    TargetChart,
    WriteBudgetCells,
)
from mlc.runtime import Actor
from mlc.store import Store

log = logging.getLogger("mlc.epicor_writer")

#: An AccountBudget header: (GL account, fiscal year).
Header = tuple[str, int]
#: Headers per ``UpdateExt`` call: fewer round trips, and a refusal still names its header.
HEADERS_PER_CALL = 25


class EpicorWriter(Actor[EpicorWriterMessage]):
    """Writes plan values through ``client`` and records postings in ``store``."""

    def __init__(self, client: EpicorClient, store: Store) -> None:
        self._client = client
        self._store = store
        self._poster = JournalPoster(client, once=self._once)

    @property
    def connection(self) -> str:
        return self._client.connection

    async def receive(self, msg: EpicorWriterMessage) -> Any:
        match msg:
            case ReadTargetChart():
                return await self._chart(msg)
            case WriteBudgetCells():
                return await self._write_budget(msg)
            case PostPlanJournal():
                return await self._post_journal(msg)
            case ReadBudgetVsActual():
                return await self._budget_vs_actual(msg)

    # ---- chart ---------------------------------------------------------------------------

    async def _chart(self, msg: ReadTargetChart) -> TargetChart:
        client = self._client
        naturals: list[str] = []
        credit: list[str] = []
        centers: list[str] = []
        where = all_of(compare("COACode", "eq", msg.coa), compare("ActiveFlag", "eq", True))
        async for row in client.rows(entities.COA_SEG_VALUES, where=where):
            if row.SegmentNbr == msg.account_segment:
                naturals.append(row.SegmentCode)
                if row.NormalBalance.upper() == "C":
                    credit.append(row.SegmentCode)
            elif row.SegmentNbr == msg.cost_center_segment:
                centers.append(row.SegmentCode)
        where = all_of(compare("COACode", "eq", msg.coa), compare("Active", "eq", True))
        accounts = [row.GLAccount1 async for row in client.rows(entities.GL_ACCOUNTS, where=where)]
        return TargetChart(
            coa=msg.coa,
            natural_accounts=tuple(naturals),
            credit_accounts=tuple(credit),
            cost_centers=tuple(centers),
            gl_accounts=tuple(accounts),
        )

    # ---- budgets -------------------------------------------------------------------------

    async def _write_budget(self, msg: WriteBudgetCells) -> BudgetCellsWritten:
        groups: dict[Header, list[BudgetCell]] = defaultdict(list)
        for cell in msg.cells:
            groups[(cell.gl_account, cell.fiscal_year)].append(cell)
        held = await self._held(msg.target, groups)
        outcomes: dict[str, CellOutcome] = {}
        pending: dict[Header, list[BudgetCell]] = {}
        for (account, year), cells in groups.items():
            for cell in cells:
                previous = held.get((account, year, cell.fiscal_period))
                if previous is not None and previous == cell.amount:
                    outcomes[cell.posting_key] = CellOutcome(
                        posting_key=cell.posting_key, status="unchanged", previous=previous
                    )
                elif msg.dry_run:
                    outcomes[cell.posting_key] = CellOutcome(
                        posting_key=cell.posting_key, status="would-write", previous=previous
                    )
                else:
                    pending.setdefault((account, year), []).append(cell)
        headers = list(pending.items())
        for start in range(0, len(headers), HEADERS_PER_CALL):
            batch = dict(headers[start : start + HEADERS_PER_CALL])
            errors = await self._upsert(msg.target, batch)
            for (account, year), cells in batch.items():
                error = errors.get((account, year))
                for cell in cells:
                    outcomes[cell.posting_key] = CellOutcome(
                        posting_key=cell.posting_key,
                        status="failed" if error else "written",
                        previous=held.get((account, year, cell.fiscal_period)),
                        error=error,
                    )
        if not msg.dry_run:
            for cell in msg.cells:
                if outcomes[cell.posting_key].status in ("written", "unchanged"):
                    await self._store.record_posting(
                        cell.posting_key,
                        run_id=msg.run_id,
                        flow=msg.flow,
                        target_ref=_budget_ref(msg.target, cell),
                    )
        return BudgetCellsWritten(outcomes=tuple(outcomes[c.posting_key] for c in msg.cells))

    async def _held(
        self, target: BudgetTarget, batch: Mapping[Header, Sequence[BudgetCell]]
    ) -> dict[tuple[str, int, int], Decimal]:
        """Epicor's current amount per (account, year, period) of the headers of ``batch``."""
        amounts = _amounts(target, batch)
        stored = await stored_amounts(self._client, amounts)
        return {
            (amount.account, amount.fiscal_year, amount.fiscal_period): stored[amount.key]
            for amount in amounts
            if amount.key in stored
        }

    async def _upsert(
        self, target: BudgetTarget, batch: Mapping[Header, Sequence[BudgetCell]]
    ) -> dict[Header, str]:
        """Write ``batch`` in one ``UpdateExt``; the error of each header that failed.

        Epicor applies the call all or nothing (``continueProcessingOnError`` false), so when it
        refuses a batch of several headers, each is sent alone to find which one it refuses.
        """
        for attempt in (1, 2):
            try:
                await upsert_budgets(self._client, _amounts(target, batch))
                return {}
            except OutcomeUnknown as exc:
                log.warning(
                    "budget_write_outcome_unknown",
                    extra={"connection": self.connection, "attempt": attempt,
                           "headers": len(batch)},
                )  # fmt: skip
                pending = await pending_amounts(self._client, _amounts(target, batch))
                unwritten = {(amount.account, amount.fiscal_year) for amount in pending}
                batch = {header: cells for header, cells in batch.items() if header in unwritten}
                if not batch:
                    return {}
                unknown = redact(str(exc))
            except EpicorError as exc:
                if len(batch) == 1:
                    return dict.fromkeys(batch, redact(str(exc)))
                errors: dict[Header, str] = {}
                for header, cells in batch.items():
                    errors.update(await self._upsert(target, {header: cells}))
                return errors
        return dict.fromkeys(batch, f"{BUDGET_SERVICE}/UpdateExt: outcome unknown twice: {unknown}")

    # ---- journals ------------------------------------------------------------------------

    async def _post_journal(self, msg: PostPlanJournal) -> JournalOutcome:
        period = FiscalPeriod(msg.fiscal_year, msg.fiscal_period)
        posted = await self._posted_lines(msg, period)
        plan = plan_journal(
            flow=msg.flow,
            version=msg.version,
            period=period,
            book=msg.book,
            journal_code=msg.journal_code,
            offset_account=msg.offset_account,
            targets={target.gl_account: target.amount for target in msg.targets},
            posted=posted,
            reverse_missing=msg.reverse_missing,
        )
        if plan is None:
            return JournalOutcome(status="unchanged")
        outcome = JournalOutcome(
            status="would-post", reference=plan.reference, group_id=plan.group_id, lines=plan.lines
        )
        if msg.dry_run:
            return outcome
        lookup = await find_journal_by_reference(self._client, plan.reference)
        if lookup.posted:
            await self._record_journal(msg, plan)
            return _replaced(outcome, status="recovered")
        entry = JournalEntry(
            group_id=plan.group_id,
            reference=plan.reference,
            je_date=msg.je_date,
            description=f"Approved {msg.version} {plan.period} (ml-connector)",
            lines=_journal_lines(plan, line_description(msg.version, plan.period)),
            journal_code=msg.journal_code,
            book_id=msg.book,
        )
        try:
            journal_num = (await self._poster.post(entry)).journal_num
        except EpicorError as exc:
            return _replaced(outcome, status="failed", error=redact(str(exc)))
        await self._record_journal(msg, plan, journal_num)
        log.info(
            "plan_journal_posted",
            extra={"connection": self.connection, "group": plan.group_id,
                   "lines": len(plan.lines), "period": str(period)},
        )  # fmt: skip
        return _replaced(outcome, status="posted")

    async def _posted_lines(self, msg: PostPlanJournal, period: FiscalPeriod) -> list[PostedLine]:
        prefix = journal_prefix(msg.flow, msg.version, period)
        where = all_of(
            compare("BookID", "eq", msg.book),
            compare("FiscalYear", "eq", msg.fiscal_year),
            compare("FiscalPeriod", "eq", msg.fiscal_period),
            f"startswith(CommentText,{string_literal(prefix)})",
        )
        return [
            PostedLine(
                reference=row.CommentText,
                gl_account=row.GLAccount,
                debit=row.DebitAmount,
                credit=row.CreditAmount,
                description=row.Description,
            )
            async for row in self._client.rows(entities.JOURNAL_LINES, where=where)
            if row.Posted and row.CommentText.startswith(prefix)
        ]

    async def _record_journal(
        self, msg: PostPlanJournal, plan: JournalPlan, journal_num: int | None = None
    ) -> None:
        ref = f"group {plan.group_id}" + (f" journal {journal_num}" if journal_num else "")
        await self._store.record_posting(
            plan.reference, run_id=msg.run_id, flow=msg.flow, target_ref=ref
        )

    async def _once(
        self,
        send: Callable[[], Awaitable[Any]],
        happened: Callable[[], Awaitable[bool]],
        call: str,
    ) -> Any:
        """``send()``; on an unknown outcome, ``happened()`` decides between done and resend."""
        try:
            return await send()
        except OutcomeUnknown:
            log.warning(
                "epicor_outcome_unknown", extra={"connection": self.connection, "call": call}
            )
            if await happened():
                return {}
        try:
            return await send()
        except OutcomeUnknown as exc:
            raise JournalFailed(f"{call}: outcome unknown twice: {exc}") from None

    # ---- budget vs actual ----------------------------------------------------------------

    async def _budget_vs_actual(self, msg: ReadBudgetVsActual) -> BudgetVsActual:
        budget = [
            (row.BalanceAcct, row.FiscalPeriod, row.BudgetAmt)
            for row in await budget_details(
                self._client,
                book_id=msg.book,
                budget_code=msg.budget_code,
                fiscal_year=msg.fiscal_year,
            )
        ]
        where = all_of(
            compare("BookID", "eq", msg.book),
            compare("FiscalYear", "eq", msg.fiscal_year),
            compare("BalanceType", "eq", "D"),
            any_of(*(compare("FiscalPeriod", "eq", p) for p in range(1, msg.last_period + 1))),
        )
        actual = [
            (row.BalanceAcct, row.FiscalPeriod, row.BalanceAmt)
            async for row in self._client.rows(entities.GL_PERIOD_BALANCES, where=where)
        ]
        rows = budget_vs_actual(
            budget, actual, cost_center_segment=msg.cost_center_segment,
            last_period=msg.last_period,
        )  # fmt: skip
        return BudgetVsActual(
            fiscal_year=msg.fiscal_year,
            budget_code=msg.budget_code,
            last_period=msg.last_period,
            rows=tuple(rows),
        )


def _replaced(outcome: JournalOutcome, **changes: Any) -> JournalOutcome:
    return msgspec.structs.replace(outcome, **changes)


def _budget_ref(target: BudgetTarget, cell: BudgetCell) -> str:
    return (
        f"AccountBudget {target.book}/{target.budget_code} {cell.gl_account} "
        f"{cell.fiscal_year}-{cell.fiscal_period:02d}"
    )


def _amounts(
    target: BudgetTarget, batch: Mapping[Header, Sequence[BudgetCell]]
) -> list[BudgetAmount]:
    return [
        BudgetAmount(
            account=account,
            fiscal_year=year,
            fiscal_period=cell.fiscal_period,
            amount=cell.amount,
            budget_code=target.budget_code,
            book_id=target.book,
            balance_type=target.balance_type,
            fiscal_year_suffix=target.fiscal_year_suffix,
            fiscal_calendar_id=target.fiscal_calendar,
        )
        for (account, year), cells in batch.items()
        for cell in cells
    ]


def _journal_lines(plan: JournalPlan, description: str) -> list[JournalLine]:
    lines = [JournalLine(line.gl_account, line.amount, description) for line in plan.lines]
    if plan.offset_amount:
        lines.append(JournalLine(plan.offset_account, plan.offset_amount, OFFSET_DESCRIPTION))
    return lines
