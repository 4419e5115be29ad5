"""One run of an outbound flow: export, parse, judge, map, sum, write, audit.

Steps, each durable before the next depends on it:

1. open the run (audit row);
2. read Epicor's chart (EpicorWriter) and the mapping table, so mapping never guesses;
3. run the Anaplan export and download it to the run's work directory (AnaplanModelActor);
4. stream the file: every row becomes a record — skipped by a direction rule, failed on bad
   data, quarantined when unmapped, or summed into its Epicor cell on disk — audited in batches
   with its payload;
5. write the cells (budgets a batch at a time, then a journal per period when configured);
   the EpicorWriter checks Epicor before each write and records posting keys after;
6. close the run: ``succeeded``, ``partial`` (records quarantined or failed) or ``failed``.

A crash anywhere leaves the run ``running`` (marked ``interrupted`` at the next start) and Epicor
either without a write or with one the next run finds by reading — never with a second posting.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from mlc.errors import MlcError
from mlc.flows.outbound.cells import CellSums
from mlc.flows.outbound.export import read_export
from mlc.flows.outbound.mapping import OutboundMapper, mapping_kinds
from mlc.flows.outbound.options import OutboundFlowSpec
from mlc.flows.outbound.periods import FiscalPeriod
from mlc.flows.outbound.ports import OutboundPorts
from mlc.flows.outbound.posting import Audit, Judge, Mapped, Posting, Report, audit_verdict
from mlc.flows.outbound.rules import DirectionRules, Verdict
from mlc.flows.tally import Tally
from mlc.logs import redact
from mlc.messages import ReadTargetChart
from mlc.metrics import (
    FLOW_LAST_SUCCESS,
    FLOW_RUN_DURATION,
    FLOW_RUNS,
    RECORDS,
    run_status_label,
)
from mlc.runtime.clock import Clock

log = logging.getLogger("mlc.outbound")


def _ignore(line: str) -> None:
    del line


@dataclass(frozen=True)
class OutboundResult:
    run_id: int
    status: str
    tally: Tally
    dry_run: bool
    error: str | None = None


@dataclass
class OutboundContext:
    """What every outbound run and replay of one flow needs."""

    spec: OutboundFlowSpec
    ports: OutboundPorts
    clock: Clock
    #: Scratch space (downloads, cell sums); files are removed when the run ends.
    work_dir: Path
    report: Report = field(default=_ignore)
    #: ``True`` forces a dry run whatever the options say (``mlc sync --dry-run``).
    dry_run: bool = False

    @property
    def is_dry_run(self) -> bool:
        return self.dry_run or self.spec.options.dry_run

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock.time(), dt.UTC).date()

    async def judge(self) -> Judge:
        options = self.spec.options
        chart = await self.ports.target_chart(
            ReadTargetChart(
                coa=options.coa,
                account_segment=options.account_segment,
                cost_center_segment=options.cost_center_segment,
            )
        )
        tables = await self.ports.mapping_tables(mapping_kinds(self.spec))
        rules = DirectionRules.from_options(options, self.today())
        return Judge(rules, OutboundMapper.build(self.spec, chart, tables))

    def trigger(self, trigger: str) -> str:
        return f"{trigger} (dry run)" if self.is_dry_run else trigger


async def write_all(
    context: OutboundContext,
    posting: Posting,
    sums: CellSums,
    run_id: int,
    judge: Judge,
    unclean: set[FiscalPeriod] | None,
) -> None:
    """Budgets, then journals; ``unclean``: periods not to reverse (None: none reversed)."""
    options = context.spec.options
    if options.budget:
        await posting.budgets(sums, run_id)
    if options.journal:
        reader = judge.rules.reader
        await posting.journals(
            sums,
            run_id,
            sums.periods(),
            reverse=lambda period: unclean is not None and period not in unclean,
            je_date=lambda period: reader.last_day(period).isoformat(),
        )


async def finish(
    context: OutboundContext,
    run_id: int,
    tally: Tally,
    error: BaseException | None,
    started: float,
) -> OutboundResult:
    """Close the run and count it in the metrics; the result."""
    message = redact(str(error)) if error is not None else None
    status = "failed" if error is not None else tally.status
    await context.ports.close_run(run_id, status, tally.frozen(), message)
    flow = context.spec.name
    FLOW_RUNS.labels(flow=flow, status=run_status_label(status)).inc()
    FLOW_RUN_DURATION.labels(flow=flow).observe(context.clock.monotonic() - started)
    for name in ("loaded", "unchanged", "quarantined", "failed", "skipped"):
        count = getattr(tally, name)
        if count:
            RECORDS.labels(flow=flow, status=name).inc(count)
    if status != "failed" and not context.is_dry_run:
        FLOW_LAST_SUCCESS.labels(flow=flow).set(context.clock.time())
    log.info(
        "outbound_run_finished",
        extra={"flow": context.spec.name, "run_id": run_id, "status": status,
               "dry_run": context.is_dry_run, "changes": tally.changes},
    )  # fmt: skip
    return OutboundResult(run_id, status, tally, context.is_dry_run, message)


async def run_outbound(context: OutboundContext, trigger: str) -> OutboundResult:
    """One run of the flow; its failures end in a ``failed`` run, not an exception (errors that
    are not an :class:`~mlc.errors.MlcError` are logged with their traceback first).

    Cancellation propagates and leaves the run ``running``, for the next start to mark it
    ``interrupted``.
    """
    spec, ports = context.spec, context.ports
    options = spec.options
    started = context.clock.monotonic()
    run_id = await ports.open_run(spec.name, context.trigger(trigger), None)
    tally = Tally()
    audit = Audit(ports, run_id, spec.name)
    work = context.work_dir / f"run-{run_id}"
    sums = CellSums(work / "cells.sqlite")
    download = work / "export.csv"
    try:
        judge = await context.judge()
        path = await ports.export(run_id, options.export, download, options.busy_timeout_seconds)
        unclean: set[FiscalPeriod] | None = set()
        for value in read_export(
            path,
            spec.columns,
            options.version,
            encoding=options.encoding,
            where=f"{spec.source} export {options.export!r}",
        ):
            tally.read += 1
            key = value.key(spec.name)
            verdict = judge(value)
            if isinstance(verdict, Mapped):
                tally.mapped += 1
                sums.add(key, value.content_hash, verdict.gl_account, verdict.period,
                         verdict.amount)  # fmt: skip
                await audit.add(key, value.content_hash, "mapped", "ok", payload=value.encode())
                continue
            if not (isinstance(verdict, Verdict) and verdict.status == "skipped"):
                period = judge.period_of(value)
                if period is None:
                    unclean = None
                elif unclean is not None:
                    unclean.add(period)
            await audit_verdict(audit, tally, key, value, verdict)
        await audit.flush()
        await ports.progress(run_id, tally.frozen())
        posting = Posting(spec, ports, audit, tally, context.is_dry_run, context.report)
        await write_all(context, posting, sums, run_id, judge, unclean)
        await audit.flush()
    except Exception as exc:
        if not isinstance(exc, MlcError):
            log.exception("outbound_run_error", extra={"flow": spec.name})
        await audit.flush()
        return await finish(context, run_id, tally, exc, started)
    finally:
        sums.close()
        download.unlink(missing_ok=True)
        _remove_empty(work)
    return await finish(context, run_id, tally, None, started)


def _remove_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass
