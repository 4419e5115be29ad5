"""The FlowRunner: executes the runs the Scheduler hands it, one at a time, and reports them.

For each inbound ``ExecuteRun`` it opens the run in the audit, runs the flow's procedure
(:mod:`actors.value_run`, :mod:`actors.coa_run`), closes the run with its status and counts,
updates the flow metrics and tells the Scheduler ``RunFinished``. An outbound run
(:mod:`actors.outbound_run`) opens, closes and counts its own run; the runner only passes its
result on. Runs of both directions go one at a time, so two never act on a model at once.
Every error of a run — a bad column, a refused login, a model busy too long, a failed import —
ends *that run* as ``failed`` with a one-line reason; the actor itself does not crash, so the
Scheduler always hears back.
Cancellation (the service stopping) is not caught: the run stays ``running`` in the store and is
marked ``interrupted`` at the next start; its watermark was not committed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from actors.coa_run import run_coa_align
from actors.outbound_run import OutboundFlow, execute_outbound
from actors.run_context import ProgressListener, RunContext, RunOutcome
from actors.value_run import run_value_flow
from mlc.errors import MlcError
from mlc.flows.options import COA_ALIGN, InboundFlowSpec
from mlc.logs import redact
from mlc.messages import (
    AnaplanModelMessage,
    AuditMessage,
    CloseRun,
    EpicorPollerMessage,
    ExecuteRun,
    FlowRunnerMessage,
    MappingMessage,
    OpenRun,
    RunFinished,
    RunTally,
)
from mlc.metrics import (
    FLOW_LAST_SUCCESS,
    FLOW_RUN_DURATION,
    FLOW_RUNS,
    RECORDS,
    run_status_label,
)
from mlc.runtime import Actor, ActorRef, Clock

log = logging.getLogger("mlc.flows")

Announce = Callable[[RunFinished], Awaitable[None]]
#: ``(flow, line)``: one change an outbound run made, or would make in a dry run.
ChangeListener = Callable[[str, str], None]


def _no_changes(flow: str, line: str) -> None:
    del flow, line


class FlowRunner(Actor[FlowRunnerMessage]):
    def __init__(
        self,
        *,
        specs: Mapping[str, InboundFlowSpec],
        audit: ActorRef[AuditMessage],
        poller: ActorRef[EpicorPollerMessage],
        mapping: ActorRef[MappingMessage],
        models: Mapping[str, ActorRef[AnaplanModelMessage]],
        clock: Clock,
        work_dir: Path,
        finished: Announce,
        progress: ProgressListener,
        outbound: Mapping[str, OutboundFlow] | None = None,
        changes: ChangeListener = _no_changes,
        dry_run: bool = False,
    ) -> None:
        """``outbound``: the enabled outbound flows; ``changes`` hears every change line of
        their runs; ``dry_run`` makes every outbound run a dry run (``mlc sync --dry-run``)."""
        self._specs = dict(specs)
        self._outbound = dict(outbound or {})
        self._changes = changes
        self._dry_run = dry_run
        self._audit = audit
        self._poller = poller
        self._mapping = mapping
        self._models = dict(models)
        self._clock = clock
        self._work_dir = work_dir
        self._finished = finished
        self._progress = progress
        self._current: ExecuteRun | None = None

    async def receive(self, msg: FlowRunnerMessage) -> Any:
        match msg:
            case ExecuteRun():
                self._current = msg
                result = await self._execute(msg)
                self._current = None
                await self._finished(result)

    async def on_failure(self, error: Exception) -> None:
        current, self._current = self._current, None
        if current is not None:
            now = self._clock.time()
            with anyio.move_on_after(5):
                await self._finished(
                    _finished(current, None, "failed", now, now, f"runner crashed: {error!r}")
                )

    async def _execute(self, msg: ExecuteRun) -> RunFinished:
        outbound = self._outbound.get(msg.flow)
        if outbound is not None:
            context = outbound.context(
                self._clock,
                self._work_dir,
                dry_run=self._dry_run,
                report=partial(self._changes, msg.flow),
            )
            return await execute_outbound(msg, context, self._clock)
        started_at = self._clock.time()
        started = self._clock.monotonic()
        spec = self._specs.get(msg.flow)
        if spec is None:
            unknown = f"flow {msg.flow!r} is not an enabled flow of this configuration"
            return _finished(msg, None, "failed", started_at, started_at, unknown)
        try:
            run_id: int = await self._audit.ask(OpenRun(flow=msg.flow, trigger=msg.trigger))
        except Exception as exc:
            return _finished(msg, None, "failed", started_at, started_at, _reason(exc))
        ctx = RunContext(
            spec=spec,
            run_id=run_id,
            trigger=msg.trigger,
            audit=self._audit,
            poller=self._poller,
            mapping=self._mapping,
            model=self._models[spec.target],
            clock=self._clock,
            work_dir=self._work_dir,
            progress=self._progress,
            started=started,
        )
        log.info(
            "run_started",
            extra={"flow": msg.flow, "run_id": run_id, "trigger": msg.trigger, "full": msg.full},
        )
        outcome, error = await self._attempt(ctx, msg)
        tally = ctx.tally.frozen()
        with anyio.CancelScope(shield=True):
            await self._audit.ask(
                CloseRun(run_id=run_id, status=outcome.status, tally=tally, error=error)
            )
        finished_at = self._clock.time()
        duration = self._clock.monotonic() - started
        FLOW_RUNS.labels(flow=msg.flow, status=run_status_label(outcome.status)).inc()
        FLOW_RUN_DURATION.labels(flow=msg.flow).observe(duration)
        for status, count in (
            ("loaded", tally.loaded),
            ("quarantined", tally.quarantined),
            ("failed", tally.failed),
            ("unchanged", tally.unchanged),
        ):
            if count:
                RECORDS.labels(flow=msg.flow, status=status).inc(count)
        if outcome.status in ("succeeded", "partial"):
            FLOW_LAST_SUCCESS.labels(flow=msg.flow).set(finished_at)
        ctx.report("done")
        log.info(
            "run_finished",
            extra={
                "flow": msg.flow,
                "run_id": run_id,
                "status": outcome.status,
                "read": tally.read,
                "loaded": tally.loaded,
                "quarantined": tally.quarantined,
                "failed": tally.failed,
                "unchanged": tally.unchanged,
                "duration_seconds": round(duration, 3),
                "error": error,
            },
        )
        return RunFinished(
            ticket=msg.ticket,
            flow=msg.flow,
            trigger=msg.trigger,
            run_id=run_id,
            status=outcome.status,
            tally=tally,
            started_at=started_at,
            finished_at=finished_at,
            error=error,
            watermark=outcome.watermark,
        )

    async def _attempt(self, ctx: RunContext, msg: ExecuteRun) -> tuple[RunOutcome, str | None]:
        try:
            if ctx.spec.kind == COA_ALIGN:
                return await run_coa_align(ctx), None
            return await run_value_flow(ctx, full=msg.full), None
        except Exception as exc:
            if not isinstance(exc, MlcError):
                log.exception("run_error", extra={"flow": msg.flow, "run_id": ctx.run_id})
            with anyio.CancelScope(shield=True):
                try:
                    await ctx.flush()
                except Exception:
                    log.exception("run_audit_flush_failed", extra={"flow": msg.flow})
            return RunOutcome("failed"), _reason(exc)


def _reason(error: Exception) -> str:
    """One line for the operator: an MlcError's own message, else the type and message."""
    text = str(error) if isinstance(error, MlcError) else f"{type(error).__name__}: {error}"
    return redact(" ".join(text.split()))


def _finished(
    msg: ExecuteRun,
    run_id: int | None,
    status: str,
    started_at: float,
    finished_at: float,
    error: str | None,
) -> RunFinished:
    return RunFinished(
        ticket=msg.ticket,
        flow=msg.flow,
        trigger=msg.trigger,
        run_id=run_id,
        status=status,
        tally=RunTally(),
        started_at=started_at,
        finished_at=finished_at,
        error=error,
    )
