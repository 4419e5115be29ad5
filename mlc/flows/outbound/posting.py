"""The part of an outbound run that runs and replays share: judge, map, sum, write, audit.

:class:`Judge` turns one exported row into either a verdict (skipped, failed, quarantined) or a
mapped value; :class:`Posting` sends the summed cells to the EpicorWriter — budgets a batch at a
time, then one journal per fiscal period — and writes each record's outcome to the audit.

Record states written here (``stage`` / ``status``): ``read`` / ``skipped`` (a direction rule) or
``failed`` (bad data); ``mapped`` / ``quarantined`` (no Epicor account; retried by ``mlc
replay``); ``posted`` / ``ok`` (written), ``unchanged`` (Epicor already held it), ``dry-run``
(would be written) or ``failed`` (Epicor refused; the error says why). Every record carries its
:class:`~mlc.flows.outbound.export.SourceValue` as payload, so a replay can rebuild any cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from mlc.flows.outbound.cells import Cell, CellSums
from mlc.flows.outbound.export import SourceValue
from mlc.flows.outbound.keys import budget_posting_key, canonical_amount
from mlc.flows.outbound.mapping import OutboundMapper, Unmapped
from mlc.flows.outbound.options import OutboundFlowSpec
from mlc.flows.outbound.periods import FiscalPeriod
from mlc.flows.outbound.ports import OutboundPorts
from mlc.flows.outbound.rules import DirectionRules, Verdict
from mlc.flows.tally import Tally
from mlc.messages import (
    AuditRecord,
    BudgetCell,
    BudgetTarget,
    JournalOutcome,
    JournalTarget,
    PostPlanJournal,
    WriteBudgetCells,
)

Report = Callable[[str], None]
AUDIT_BATCH = 500


class Mapped(NamedTuple):
    gl_account: str
    period: FiscalPeriod
    amount: Decimal


@dataclass(frozen=True)
class Judge:
    """Direction rules, then mapping, for one flow."""

    rules: DirectionRules
    mapper: OutboundMapper

    def __call__(self, value: SourceValue) -> Mapped | Verdict | Unmapped:
        typed = self.rules.judge(value)
        if isinstance(typed, Verdict):
            return typed
        target = self.mapper.map(value.account, value.cost_center)
        if isinstance(target, Unmapped):
            return target
        amount = typed.amount
        if target.credit_account and self.mapper.options.sign_convention == "credit-negative":
            amount = -amount
        return Mapped(target.gl_account, typed.period, amount)

    def period_of(self, value: SourceValue) -> FiscalPeriod | None:
        typed = self.rules.judge(value)
        return None if isinstance(typed, Verdict) else typed.period


@dataclass
class Audit:
    """Buffers record states and writes them a batch at a time."""

    ports: OutboundPorts
    run_id: int
    flow: str
    pending: list[AuditRecord] = field(default_factory=list)

    async def add(
        self,
        key: str,
        content_hash: str,
        stage: str,
        status: str,
        *,
        error: str | None = None,
        payload: bytes | None = None,
    ) -> None:
        self.pending.append(
            AuditRecord(
                run_id=self.run_id,
                flow=self.flow,
                key=key,
                content_hash=content_hash,
                stage=stage,
                status=status,
                error=error,
                payload=payload,
            )
        )
        if len(self.pending) >= AUDIT_BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self.pending:
            events, self.pending = tuple(self.pending), []
            await self.ports.record(events)


async def audit_verdict(
    audit: Audit, tally: Tally, key: str, value: SourceValue, verdict: Verdict | Unmapped
) -> None:
    """Record a row that goes no further."""
    if isinstance(verdict, Unmapped):
        tally.quarantined += 1
        await audit.add(key, value.content_hash, "mapped", "quarantined",
                        error=verdict.reason, payload=value.encode())  # fmt: skip
    elif verdict.status == "skipped":
        tally.skipped += 1
        await audit.add(key, value.content_hash, "read", "skipped",
                        error=verdict.reason, payload=value.encode())  # fmt: skip
    else:
        tally.failed += 1
        await audit.add(key, value.content_hash, "read", "failed",
                        error=verdict.reason, payload=value.encode())  # fmt: skip


_BUDGET_STATUS = {"written": "ok", "unchanged": "unchanged", "would-write": "dry-run"}
_JOURNAL_STATUS = {
    "posted": "ok",
    "recovered": "ok",
    "unchanged": "unchanged",
    "would-post": "dry-run",
}


def _money(amount: Decimal | None) -> str:
    return "none" if amount is None else f"{amount:,.2f}"


@dataclass
class Posting:
    """Sends summed cells to the EpicorWriter and audits each record's outcome."""

    spec: OutboundFlowSpec
    ports: OutboundPorts
    audit: Audit
    tally: Tally
    dry_run: bool
    report: Report
    #: Only these record keys are audited (a replay audits the records it replays, not the
    #: records of the original run that share their cells); None: all.
    audited: frozenset[str] | None = None

    @property
    def target(self) -> BudgetTarget:
        options = self.spec.options
        return BudgetTarget(
            book=options.book,
            budget_code=options.budget_code,
            balance_type=options.balance_type,
            fiscal_calendar=options.fiscal_calendar,
            fiscal_year_suffix=options.fiscal_year_suffix,
        )

    def _key(self, cell: Cell) -> str:
        options = self.spec.options
        return budget_posting_key(
            flow=self.spec.name,
            version=options.version,
            book=options.book,
            budget_code=options.budget_code,
            balance_type=options.balance_type,
            gl_account=cell.gl_account,
            period=cell.period,
            amount=self._amount(cell),
        )

    def _amount(self, cell: Cell) -> Decimal:
        return cell.amount.quantize(Decimal(1).scaleb(-self.spec.options.amount_decimals))

    async def _records(
        self, cell: Cell, stage: str, status: str, error: str | None = None
    ) -> None:
        for key, content_hash in cell.records:
            if self.audited is not None and key not in self.audited:
                continue
            counter = {"ok": "loaded", "unchanged": "unchanged", "failed": "failed"}.get(status)
            if counter:
                setattr(self.tally, counter, getattr(self.tally, counter) + 1)
            await self.audit.add(key, content_hash, stage, status, error=error)

    async def budgets(self, sums: CellSums, run_id: int) -> None:
        options = self.spec.options
        for batch in sums.cells(batch_size=options.batch_size):
            cells = [
                BudgetCell(
                    gl_account=cell.gl_account,
                    fiscal_year=cell.period.year,
                    fiscal_period=cell.period.period,
                    amount=self._amount(cell),
                    posting_key=self._key(cell),
                )
                for cell in batch
            ]
            answer = await self.ports.write_budget(
                WriteBudgetCells(
                    run_id=run_id,
                    flow=self.spec.name,
                    target=self.target,
                    cells=tuple(cells),
                    dry_run=self.dry_run,
                )
            )
            for cell, sent, outcome in zip(batch, cells, answer.outcomes, strict=True):
                status = _BUDGET_STATUS.get(outcome.status, "failed")
                if outcome.status in ("written", "would-write"):
                    self.tally.changes += 1
                    verb = "would set" if self.dry_run else "set"
                    self.report(
                        f"{verb} budget {options.budget_code} {cell.gl_account} {cell.period}: "
                        f"{_money(outcome.previous)} -> {_money(sent.amount)}"
                    )
                await self._records(cell, "posted", status, outcome.error)
            await self.audit.flush()
            await self.ports.progress(run_id, self.tally.frozen())

    async def journals(
        self,
        sums: CellSums,
        run_id: int,
        periods: Sequence[FiscalPeriod],
        *,
        reverse: Callable[[FiscalPeriod], bool],
        je_date: Callable[[FiscalPeriod], str],
    ) -> None:
        options = self.spec.options
        for period in periods:
            cells = [cell for batch in sums.cells(period=period) for cell in batch]
            outcome = await self.ports.post_journal(
                PostPlanJournal(
                    run_id=run_id,
                    flow=self.spec.name,
                    version=options.version,
                    book=options.book,
                    journal_code=options.journal_code,
                    fiscal_year=period.year,
                    fiscal_period=period.period,
                    je_date=je_date(period),
                    offset_account=options.journal_offset_account,
                    targets=tuple(
                        JournalTarget(gl_account=cell.gl_account, amount=self._amount(cell))
                        for cell in cells
                    ),
                    reverse_missing=reverse(period),
                    dry_run=self.dry_run,
                )
            )
            self._report_journal(period, outcome)
            status = _JOURNAL_STATUS.get(outcome.status, "failed")
            if not options.budget:
                for cell in cells:
                    await self._records(cell, "posted", status, outcome.error)
            elif status == "failed":
                for cell in cells:
                    await self._records(cell, "journal", "failed", outcome.error)
            await self.audit.flush()
            await self.ports.progress(run_id, self.tally.frozen())

    def _report_journal(self, period: FiscalPeriod, outcome: JournalOutcome) -> None:
        if outcome.status not in ("posted", "would-post", "failed"):
            return
        if outcome.status == "failed":
            self.report(f"journal {period} failed: {outcome.error}")
            return
        self.tally.changes += 1
        verb = "would post" if outcome.status == "would-post" else "posted"
        self.report(
            f"{verb} journal {outcome.group_id} {period}: {len(outcome.lines)} line(s) "
            f"plus balancing line to {self.spec.options.journal_offset_account}"
        )
        if self.dry_run:
            for line in outcome.lines:
                self.report(
                    f"  {line.gl_account}: posted {_money(line.posted)} -> "
                    f"{_money(line.target)} ({canonical_amount(line.amount)})"
                )
