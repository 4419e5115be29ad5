"""Replaying an outbound run: send its failed and quarantined records again, once fixed.

``mlc replay RUN`` selects the run's records whose status is ``quarantined`` or ``failed``;
``--record KEY`` selects one record (any status). The replay is its own run (trigger ``replay``,
``parent_run_id`` = RUN), audited like any other, and writes only the Epicor cells the selected
records map to *now* (after the mapping was added or the period reopened).

A cell may sum several records (:mod:`.cells`), some of which were written fine the first time.
Writing the replayed record's value alone would then set the cell to a part of its total, so the
replay rebuilds each affected cell from **all** records of the original export — the root of the
replay chain, whose records carry every row's payload — mapped with today's mappings. Cells no
selected record maps to are not touched, and the EpicorWriter's check-before-write makes a cell
that already holds the right value an ``unchanged`` no-op: replaying twice writes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from mlc.errors import MlcError, UsageError
from mlc.flows.outbound.cells import CellSums
from mlc.flows.outbound.export import SourceValue, decode_value
from mlc.flows.outbound.periods import FiscalPeriod
from mlc.flows.outbound.ports import RunLineage
from mlc.flows.outbound.posting import Audit, Mapped, Posting, audit_verdict
from mlc.flows.outbound.run import OutboundContext, OutboundResult, finish, write_all
from mlc.flows.tally import Tally
from mlc.messages import StoredRecord

log = logging.getLogger("mlc.outbound")

#: Record statuses ``mlc replay RUN`` sends again.
REPLAYED_STATUSES = ("quarantined", "failed")
PAGE = 1000


async def _lineage(context: OutboundContext, run_id: int) -> tuple[RunLineage, RunLineage]:
    """The run to replay and the root of its replay chain (the run that read the export)."""
    run = await context.ports.lineage(run_id)
    if run is None:
        raise UsageError(f"no run {run_id} in the store")
    if run.flow != context.spec.name:
        raise UsageError(f"run {run_id} is a run of flow {run.flow!r}, not {context.spec.name!r}")
    root, seen = run, {run.run_id}
    while root.parent_run_id is not None:
        parent = await context.ports.lineage(root.parent_run_id)
        if parent is None or parent.run_id in seen:
            raise MlcError(f"run {run_id}: its replay chain is broken at run {root.parent_run_id}")
        seen.add(parent.run_id)
        root = parent
    return run, root


async def _records(
    context: OutboundContext, run_id: int, status: str | None = None
) -> AsyncIterator[StoredRecord]:
    after = 0
    while page := await context.ports.records(run_id, status=status, after_id=after, limit=PAGE):
        for record in page:
            yield record
        after = page[-1].id


def _value(record: StoredRecord, run_id: int) -> SourceValue:
    if record.payload is None:
        raise MlcError(f"run {run_id}: record {record.key} has no payload to replay from")
    return decode_value(record.payload)


async def _selected(
    context: OutboundContext, run_id: int, record_key: str | None
) -> dict[str, SourceValue]:
    chosen: dict[str, SourceValue] = {}
    if record_key is not None:
        async for record in _records(context, run_id):
            if record.key == record_key:
                chosen[record.key] = _value(record, run_id)
        if not chosen:
            raise UsageError(f"run {run_id} has no record {record_key!r}")
        return chosen
    for status in REPLAYED_STATUSES:
        async for record in _records(context, run_id, status):
            chosen[record.key] = _value(record, run_id)
    return chosen


async def replay_outbound(
    context: OutboundContext, run_id: int, *, record_key: str | None = None
) -> OutboundResult:
    """Replay run ``run_id`` (all its failed and quarantined records, or ``record_key``)."""
    spec, ports = context.spec, context.ports
    run, root = await _lineage(context, run_id)
    selected = await _selected(context, run.run_id, record_key)
    if not selected:
        raise UsageError(
            f"run {run_id} has no {' or '.join(REPLAYED_STATUSES)} records: nothing to replay"
        )
    started = context.clock.monotonic()
    replay_id = await ports.open_run(spec.name, context.trigger("replay"), run.run_id)
    tally = Tally()
    audit = Audit(ports, replay_id, spec.name)
    sums = CellSums(context.work_dir / f"replay-{replay_id}" / "cells.sqlite")
    try:
        judge = await context.judge()
        cells: set[tuple[str, FiscalPeriod]] = set()
        for key, value in selected.items():
            tally.read += 1
            verdict = judge(value)
            if isinstance(verdict, Mapped):
                tally.mapped += 1
                cells.add((verdict.gl_account, verdict.period))
                await audit.add(key, value.content_hash, "mapped", "ok", payload=value.encode())
            else:
                await audit_verdict(audit, tally, key, value, verdict)
        await audit.flush()
        async for record in _records(context, root.run_id):
            if record.payload is None:
                continue
            value = decode_value(record.payload)
            verdict = judge(value)
            if isinstance(verdict, Mapped) and (verdict.gl_account, verdict.period) in cells:
                sums.add(record.key, value.content_hash, verdict.gl_account, verdict.period,
                         verdict.amount)  # fmt: skip
        for key, value in selected.items():
            verdict = judge(value)
            if isinstance(verdict, Mapped):
                sums.add(key, value.content_hash, verdict.gl_account, verdict.period,
                         verdict.amount)  # fmt: skip
        posting = Posting(
            spec, ports, audit, tally, context.is_dry_run, context.report, frozenset(selected)
        )
        await write_all(context, posting, sums, replay_id, judge, None)
        await audit.flush()
    except Exception as exc:
        if not isinstance(exc, MlcError):
            log.exception("outbound_run_error", extra={"flow": spec.name})
        await audit.flush()
        return await finish(context, replay_id, tally, exc, started)
    finally:
        sums.close()
        _remove_empty(context, replay_id)
    return await finish(context, replay_id, tally, None, started)


def _remove_empty(context: OutboundContext, replay_id: int) -> None:
    try:
        (context.work_dir / f"replay-{replay_id}").rmdir()
    except OSError:
        pass
