"""Outbound runs (``budget-to-gl``) in the actor tree: their ports, and the FlowRunner's hook.

The outbound procedure (:mod:`mlc.flows.outbound.run`, :mod:`mlc.flows.outbound.replay`) is flow
logic and reaches the rest of the service only through :class:`OutboundPorts`;
:class:`OutboundActorPorts` implements them over the tree's actors — the AuditActor for runs and
records (the single writer, replays included: ``OpenRun`` carries the parent run), the model's
AnaplanModelActor for the export (shared with the inbound flows on that model, so one action at a
time runs on it), the target connection's EpicorWriter for Epicor. Run lineage and mapping tables
are plain reads of the store.

:func:`execute_outbound` is what the FlowRunner calls for an outbound ``ExecuteRun``: the outbound
run opens, audits, closes and counts its own run, so the FlowRunner only turns the result into
``RunFinished``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlc.errors import MlcError
from mlc.flows.outbound.options import OutboundFlowSpec
from mlc.flows.outbound.ports import OutboundPorts, RunLineage
from mlc.flows.outbound.posting import Report
from mlc.flows.outbound.run import OutboundContext, OutboundResult, run_outbound
from mlc.logs import redact
from mlc.messages import (
    AnaplanModelMessage,
    AuditMessage,
    AuditRecord,
    BudgetCellsWritten,
    CloseRun,
    EpicorWriterMessage,
    ExecuteRun,
    ExportedFile,
    JournalOutcome,
    OpenRun,
    PostPlanJournal,
    ReadRecords,
    ReadTargetChart,
    RecordEvents,
    RunExport,
    RunFinished,
    RunTally,
    StoredRecord,
    TargetChart,
    UpdateRunTally,
    WriteBudgetCells,
)
from mlc.runtime import ActorRef, Clock
from mlc.store import Store

log = logging.getLogger("mlc.outbound")


class OutboundActorPorts:
    """:class:`mlc.flows.outbound.ports.OutboundPorts` over the actor tree (see the module docs)."""

    def __init__(
        self,
        *,
        audit: ActorRef[AuditMessage],
        model: ActorRef[AnaplanModelMessage],
        writer: ActorRef[EpicorWriterMessage],
        store: Store,
    ) -> None:
        self._audit = audit
        self._model = model
        self._writer = writer
        self._store = store

    async def open_run(self, flow: str, trigger: str, parent_run_id: int | None) -> int:
        run_id: int = await self._audit.ask(
            OpenRun(flow=flow, trigger=trigger, parent_run_id=parent_run_id)
        )
        return run_id

    async def record(self, events: Sequence[AuditRecord]) -> None:
        await self._audit.ask(RecordEvents(tuple(events)))

    async def progress(self, run_id: int, tally: RunTally) -> None:
        await self._audit.ask(UpdateRunTally(run_id=run_id, tally=tally))

    async def close_run(self, run_id: int, status: str, tally: RunTally, error: str | None) -> None:
        await self._audit.ask(CloseRun(run_id=run_id, status=status, tally=tally, error=error))

    async def lineage(self, run_id: int) -> RunLineage | None:
        run = await self._store.get_run(run_id)
        return None if run is None else RunLineage(run.id, run.flow, run.parent_run_id)

    async def records(
        self, run_id: int, *, status: str | None, after_id: int, limit: int
    ) -> Sequence[StoredRecord]:
        found: tuple[StoredRecord, ...] = await self._audit.ask(
            ReadRecords(run_id=run_id, status=status, after_id=after_id, limit=limit)
        )
        return found

    async def mapping_tables(self, kinds: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        return {kind: await self._store.get_mappings(kind) for kind in kinds}

    async def export(
        self, run_id: int, export_name: str, destination: Path, busy_timeout: float
    ) -> Path:
        del run_id
        destination.parent.mkdir(parents=True, exist_ok=True)
        exported: ExportedFile = await self._model.ask(
            RunExport(
                export_name=export_name, destination=str(destination), busy_timeout=busy_timeout
            )
        )
        return Path(exported.path)

    async def target_chart(self, request: ReadTargetChart) -> TargetChart:
        chart: TargetChart = await self._writer.ask(request)
        return chart

    async def write_budget(self, request: WriteBudgetCells) -> BudgetCellsWritten:
        written: BudgetCellsWritten = await self._writer.ask(request)
        return written

    async def post_journal(self, request: PostPlanJournal) -> JournalOutcome:
        outcome: JournalOutcome = await self._writer.ask(request)
        return outcome


def _ignore(line: str) -> None:
    del line


@dataclass(frozen=True)
class OutboundFlow:
    """One enabled outbound flow of the tree: its checked spec and the ports its runs use."""

    spec: OutboundFlowSpec
    ports: OutboundPorts
    #: The EpicorWriter of the flow's target (for reads beside the runs: budget vs actual).
    writer: ActorRef[EpicorWriterMessage]

    def context(
        self,
        clock: Clock,
        work_dir: Path,
        *,
        dry_run: bool = False,
        report: Report = _ignore,
    ) -> OutboundContext:
        """``dry_run`` forces a dry run whatever the flow's options say."""
        return OutboundContext(
            spec=self.spec,
            ports=self.ports,
            clock=clock,
            work_dir=work_dir,
            report=report,
            dry_run=dry_run,
        )


def _finished(
    msg: ExecuteRun, result: OutboundResult, started_at: float, finished_at: float
) -> RunFinished:
    return RunFinished(
        ticket=msg.ticket,
        flow=msg.flow,
        trigger=msg.trigger,
        run_id=result.run_id,
        status=result.status,
        tally=result.tally.frozen(),
        started_at=started_at,
        finished_at=finished_at,
        error=result.error,
        dry_run=result.dry_run,
    )


async def execute_outbound(msg: ExecuteRun, context: OutboundContext, clock: Clock) -> RunFinished:
    """Run one outbound ``ExecuteRun`` and describe it as the Scheduler expects.

    The run's own failures end in a ``failed`` result (:func:`run_outbound`); what escapes it —
    the run could not be opened or closed in the audit — ends as ``failed`` here, with the reason
    on one line, so the Scheduler always hears back. Cancellation propagates (the run stays
    ``running`` and is marked ``interrupted`` at the next start).
    """
    started_at = clock.time()
    try:
        result = await run_outbound(context, msg.trigger)
    except Exception as exc:
        if not isinstance(exc, MlcError):
            log.exception("outbound_run_error", extra={"flow": msg.flow})
        text = str(exc) if isinstance(exc, MlcError) else f"{type(exc).__name__}: {exc}"
        return RunFinished(
            ticket=msg.ticket,
            flow=msg.flow,
            trigger=msg.trigger,
            run_id=None,
            status="failed",
            tally=RunTally(),
            started_at=started_at,
            finished_at=clock.time(),
            error=redact(" ".join(text.split())),
            dry_run=context.is_dry_run,
        )
    return _finished(msg, result, started_at, clock.time())
