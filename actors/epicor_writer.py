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

**Journals** (``PostPlanJournal``), per flow, version and fiscal period, by the method sequence of
reference/epicor.md §4: read what this flow's journals posted in the period (posted lines whose
``CommentText`` starts with the flow's reference prefix), plan the difference
(:func:`mlc.flows.outbound.journal.plan_journal`), look the planned reference up
(:func:`mlc.epicor.lookups.find_journal_by_reference`) — a group entered but never posted (a crash
before ``PostGroupJournals``) is deleted and entered again under the same deterministic group id —
``CheckFiscalYear`` (a warning such as a closed period stops the journal before anything is
entered), enter the group, header and lines, then ``UnlockGroup`` → ``CheckBeforePost`` →
``PostGroupJournals``. Lines are cloned from one ``GetNewGLJrnDtlMnl`` row and saved in one
``Update`` rather than one ``GetNew`` per line, which would resend the growing tableset every time.

``dry_run`` reads and plans exactly as above and writes nothing, not even posting keys.
"""

from __future__ import annotations

import copy
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from mlc.epicor import entities
from mlc.epicor.client import EpicorClient
from mlc.epicor.errors import EpicorError
from mlc.epicor.lookups import MAX_FILTERED_ACCOUNTS, budget_details, find_journal_by_reference
from mlc.epicor.query import all_of, any_of, compare, string_literal
from mlc.epicor.rows import GLBudgetDtl
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

BUDGET_SERVICE = "Erp.BO.AccountBudgetSvc"
GROUP_SERVICE = "Erp.BO.GLJrnGrpSvc"
ENTRY_SERVICE = "Erp.BO.GLJournalEntrySvc"
_ZERO = Decimal(0)
_EMPTY_ENTRY_DS = (
    "GLJrnHed",
    "GLJrnHedAttch",
    "GLJrnDtlMnl",
    "GLJrnDtlMnlAttch",
    "GLJrnDtlMnlDEASch",
    "GLJrnDtlMnlTranGLC",
    "GlAllocations",
    "LegalNumGenOpts",
    "ExtensionTables",
)

Tableset = dict[str, list[dict[str, Any]]]
#: An AccountBudget header: (GL account, fiscal year).
Header = tuple[str, int]
#: Headers per ``UpdateExt`` call: fewer round trips, and a refusal still names its header.
HEADERS_PER_CALL = 25


class JournalFailed(EpicorError):
    """A journal could not be entered or posted; the message names the group and the step."""


def _tableset(parameters: Any, call: str) -> Tableset:
    ds = parameters.get("ds") if isinstance(parameters, dict) else None
    if not isinstance(ds, dict):
        raise JournalFailed(f"{call}: the answer has no parameters.ds tableset")
    return ds


class EpicorWriter(Actor[EpicorWriterMessage]):
    """Writes plan values through ``client`` and records postings in ``store``."""

    def __init__(self, client: EpicorClient, store: Store) -> None:
        self._client = client
        self._store = store

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
        self, target: BudgetTarget, headers: Iterable[Header]
    ) -> dict[tuple[str, int, int], Decimal]:
        """Epicor's current amount per (account, year, period) of ``headers``."""
        by_year: dict[int, list[str]] = defaultdict(list)
        for account, year in headers:
            by_year[year].append(account)
        held: dict[tuple[str, int, int], Decimal] = {}
        for year, accounts in by_year.items():
            for start in range(0, len(accounts), MAX_FILTERED_ACCOUNTS):
                chunk = accounts[start : start + MAX_FILTERED_ACCOUNTS]
                rows = await budget_details(
                    self._client,
                    book_id=target.book,
                    budget_code=target.budget_code,
                    fiscal_year=year,
                    accounts=chunk,
                )
                for row in rows:
                    if _same_budget(row, target):
                        held[(row.BalanceAcct, row.FiscalYear, row.FiscalPeriod)] = row.BudgetAmt
        return held

    async def _upsert(
        self, target: BudgetTarget, batch: Mapping[Header, Sequence[BudgetCell]]
    ) -> dict[Header, str]:
        """Write ``batch`` in one ``UpdateExt``; the error of each header that failed.

        Epicor applies the call all or nothing (``continueProcessingOnError`` false), so when it
        refuses a batch of several headers, each is sent alone to find which one it refuses.
        """
        for attempt in (1, 2):
            try:
                await self._client.call(
                    BUDGET_SERVICE, "UpdateExt", self._budget_body(target, batch), idempotent=False
                )
                return {}
            except OutcomeUnknown as exc:
                log.warning(
                    "budget_write_outcome_unknown",
                    extra={"connection": self.connection, "attempt": attempt,
                           "headers": len(batch)},
                )  # fmt: skip
                held = await self._held(target, batch)
                batch = {
                    header: cells
                    for header, cells in batch.items()
                    if any(held.get((*header, c.fiscal_period)) != c.amount for c in cells)
                }
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

    def _budget_body(
        self, target: BudgetTarget, batch: Mapping[Header, Sequence[BudgetCell]]
    ) -> dict[str, Any]:
        company = self._client.settings.company
        headers: list[dict[str, Any]] = []
        details: list[dict[str, Any]] = []
        for (account, year), cells in batch.items():
            key = {
                "Company": company,
                "BookID": target.book,
                "BalanceAcct": account,
                "BalanceType": target.balance_type,
                "FiscalYear": year,
                "FiscalYearSuffix": target.fiscal_year_suffix,
                "FiscalCalendarID": target.fiscal_calendar,
                "BudgetCodeID": target.budget_code,
            }
            headers.append({**key, "RowMod": "A"})
            details.extend(
                {**key, "FiscalPeriod": c.fiscal_period, "BudgetAmt": c.amount, "RowMod": "A"}
                for c in cells
            )
        return {
            "ds": {"GLBudgetHd": headers, "GLBudgetDtl": details},
            "continueProcessingOnError": False,
            "rollbackParentOnChildError": True,
        }

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
        try:
            await self._discard_unposted(plan.group_id)
            journal_num = await self._enter(msg, plan)
            await self._post(plan)
        except EpicorError as exc:
            await self._cleanup(plan.group_id)
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

    async def _method(
        self, service: str, method: str, body: Mapping[str, Any], *, idempotent: bool = False
    ) -> Any:
        result = await self._client.call(service, method, body, idempotent=idempotent)
        return result.parameters

    async def _group_exists(self, group_id: str) -> bool:
        try:
            result = await self._client.call(
                GROUP_SERVICE, "GetByID", {"groupID": group_id}, idempotent=True
            )
        except EpicorError as exc:
            if exc.status in (400, 404):
                return False
            raise
        return result.returnObj is not None

    async def _discard_unposted(self, group_id: str) -> None:
        """Delete what a crashed run left of this journal's group (never posted: the group
        id is derived from the reference, and a posted group no longer exists in Epicor)."""
        if await self._group_exists(group_id):
            log.warning(
                "plan_journal_unposted_group_found",
                extra={"connection": self.connection, "group": group_id},
            )
            await self._delete_group(group_id)

    async def _delete_group(self, group_id: str) -> None:
        company = self._client.settings.company
        body = {"ds": {"GLJrnGrp": [{"Company": company, "GroupID": group_id, "RowMod": "D"}]}}
        await self._method(GROUP_SERVICE, "Update", body)

    async def _cleanup(self, group_id: str) -> None:
        try:
            if await self._group_exists(group_id):
                await self._delete_group(group_id)
        except (EpicorError, OutcomeUnknown) as exc:
            log.warning(
                "plan_journal_cleanup_failed",
                extra={"connection": self.connection, "group": group_id,
                       "error": redact(str(exc))},
            )  # fmt: skip

    async def _enter(self, msg: PostPlanJournal, plan: JournalPlan) -> int:
        """Enter the group, its journal and lines; the journal number Epicor assigned."""
        group_id = plan.group_id
        je_date = f"{msg.je_date}T00:00:00"
        params = await self._method(GROUP_SERVICE, "GetNewGLJrnGrp", {"ds": {"GLJrnGrp": []}})
        ds = _tableset(params, f"{GROUP_SERVICE}/GetNewGLJrnGrp")
        for row in ds.get("GLJrnGrp", []):
            row.update(GroupID=group_id, JournalCode=msg.journal_code, JEDate=je_date,
                       BookID=msg.book)  # fmt: skip
        params = await self._method(
            GROUP_SERVICE, "CheckFiscalYear", {"ds": ds, "cGroupID": group_id, "cJEDate": je_date}
        )
        warning = str(params.get("opMessage") or "") if isinstance(params, dict) else ""
        if warning:
            raise JournalFailed(f"{GROUP_SERVICE}/CheckFiscalYear for {msg.je_date}: {warning}")
        ds = _tableset(params, f"{GROUP_SERVICE}/CheckFiscalYear")
        await self._once(
            lambda: self._method(GROUP_SERVICE, "Update", {"ds": ds}),
            lambda: self._group_exists(group_id),
            f"{GROUP_SERVICE}/Update (group {group_id})",
        )
        empty: Tableset = {table: [] for table in _EMPTY_ENTRY_DS}
        params = await self._method(
            ENTRY_SERVICE, "GetNewGlJrnHedTran", {"ds": empty, "GroupID": group_id}
        )
        ds = _tableset(params, f"{ENTRY_SERVICE}/GetNewGlJrnHedTran")
        for row in ds.get("GLJrnHed", []):
            row.update(
                Description=f"Approved {msg.version} {plan.period} (ml-connector)",
                CommentText=plan.reference,
                JEDate=je_date,
            )
        params = await self._method(ENTRY_SERVICE, "PreUpdate", {"ds": ds})
        ds = _tableset(params, f"{ENTRY_SERVICE}/PreUpdate")

        async def saved_header() -> bool:
            return bool((await find_journal_by_reference(self._client, plan.reference)).entries)

        await self._once(
            lambda: self._method(ENTRY_SERVICE, "Update", {"ds": ds}),
            saved_header,
            f"{ENTRY_SERVICE}/Update (journal of group {group_id})",
        )
        lookup = await find_journal_by_reference(self._client, plan.reference)
        if len(lookup.entries) != 1:
            raise JournalFailed(
                f"{ENTRY_SERVICE}: group {group_id} has {len(lookup.entries)} journals with "
                f"reference {plan.reference}, expected 1"
            )
        head = lookup.entries[0]
        params = await self._method(
            ENTRY_SERVICE,
            "GetNewGLJrnDtlMnl",
            {
                "ds": {**empty, "GLJrnHed": []},
                "bookID": head.BookID,
                "fiscalYear": head.FiscalYear,
                "fiscalYearSuffix": head.FiscalYearSuffix,
                "journalCode": head.JournalCode,
                "journalNum": head.JournalNum,
                "journalLine": 0,
            },
        )
        template_rows = _tableset(params, f"{ENTRY_SERVICE}/GetNewGLJrnDtlMnl").get(
            "GLJrnDtlMnl", []
        )
        if not template_rows:
            raise JournalFailed(f"{ENTRY_SERVICE}/GetNewGLJrnDtlMnl returned no line")
        lines = list(_journal_lines(plan, line_description(msg.version, plan.period)))
        rows = []
        for number, (account, amount, description) in enumerate(lines, start=1):
            row = copy.deepcopy(template_rows[-1])
            row.update(
                JournalLine=number,
                GLAccount=account,
                Description=description,
                TotDebit=amount if amount > 0 else _ZERO,
                TotCredit=-amount if amount < 0 else _ZERO,
                RowMod="A",
            )
            rows.append(row)

        await self._once(
            lambda: self._method(ENTRY_SERVICE, "Update", {"ds": {**empty, "GLJrnDtlMnl": rows}}),
            lambda: self._lines_saved(group_id, len(rows)),
            f"{ENTRY_SERVICE}/Update (lines of group {group_id})",
        )
        return int(head.JournalNum)

    async def _lines_saved(self, group_id: str, expected: int) -> bool:
        result = await self._client.call(
            ENTRY_SERVICE, "GetByGroupID", {"GroupID": group_id}, idempotent=True
        )
        ds = result.returnObj if isinstance(result.returnObj, dict) else {}
        return len(ds.get("GLJrnDtlMnl", [])) == expected

    async def _post(self, plan: JournalPlan) -> None:
        group_id = plan.group_id
        await self._method(GROUP_SERVICE, "UnlockGroup", {"inGroupID": group_id})
        await self._method(GROUP_SERVICE, "CheckBeforePost", {"groupID": group_id})

        async def posted() -> bool:
            return (await find_journal_by_reference(self._client, plan.reference)).posted

        params = await self._once(
            lambda: self._method(GROUP_SERVICE, "PostGroupJournals", {"postGroupID": group_id}),
            posted,
            f"{GROUP_SERVICE}/PostGroupJournals (group {group_id})",
        )
        message = str(params.get("NotAllPostedMessage") or "") if isinstance(params, dict) else ""
        if message:
            raise JournalFailed(f"{GROUP_SERVICE}/PostGroupJournals (group {group_id}): {message}")
        if not await posted():
            raise JournalFailed(
                f"{GROUP_SERVICE}/PostGroupJournals (group {group_id}) answered, but no posted "
                f"line carries reference {plan.reference}"
            )

    async def _once(self, send: Any, happened: Any, call: str) -> Any:
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


def _same_budget(row: GLBudgetDtl, target: BudgetTarget) -> bool:
    return (
        row.BalanceType == target.balance_type
        and row.FiscalCalendarID == target.fiscal_calendar
        and row.FiscalYearSuffix == target.fiscal_year_suffix
    )


def _budget_ref(target: BudgetTarget, cell: BudgetCell) -> str:
    return (
        f"AccountBudget {target.book}/{target.budget_code} {cell.gl_account} "
        f"{cell.fiscal_year}-{cell.fiscal_period:02d}"
    )


def _journal_lines(plan: JournalPlan, description: str) -> Iterable[tuple[str, Decimal, str]]:
    for line in plan.lines:
        yield line.gl_account, line.amount, description
    if plan.offset_amount:
        yield plan.offset_account, plan.offset_amount, OFFSET_DESCRIPTION
