"""One run of a value flow (gl-actuals, ap-spend): pull, map, spool, load, audit, commit.

The order is the exactly-once argument of the inbound path (DESIGN §4):

1. the import's columns are checked against the flow's before anything is read;
2. the mappings are refreshed, the pull runs to its end (cells summed on disk);
3. every cell is mapped or quarantined; mapped rows whose content hash equals the one last loaded
   are skipped as ``unchanged`` (delta runs only); the rest are spooled to disk; cells quarantined
   by the last committed run are retried (delta runs only: a full pull reads them anyway);
4. the spool is loaded through the model actor (nothing is uploaded when nothing changed);
5. per-record outcomes are written to the audit — and only once the audit answered (durable)
   is the watermark committed. Any failure before that leaves the watermark where it was, so
   the next run reads the same changes again; loading the same values twice is harmless.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.to_thread

from actors.run_context import (
    RunContext,
    RunFailed,
    RunOutcome,
    check_import_columns,
    log,
)
from mlc.flows import checkpoint
from mlc.flows.checkpoint import RunCheckpoint
from mlc.flows.mapping import decode_cell
from mlc.flows.options import ValueFlowOptions
from mlc.flows.spool import Spool, SpoolWriter
from mlc.flows.tally import Tally
from mlc.messages import (
    BatchLoaded,
    BatchMapped,
    CloseRun,
    CommitWatermark,
    ContinuePull,
    EndPull,
    GetImportHeaders,
    LastCommittedRun,
    LastLoadedHashes,
    LoadFile,
    LoadMappings,
    MapCells,
    NextCells,
    PullProgress,
    PullStarted,
    ReadRecords,
    RecordBatch,
    SourceCell,
    SpoolFile,
    StartPull,
    StoredRecord,
)
from mlc.runtime import ActorStopped

CELL_BATCH = 1000
MB = 1024 * 1024


async def run_value_flow(ctx: RunContext, *, full: bool) -> RunOutcome:
    options = ctx.spec.options
    assert isinstance(options, ValueFlowOptions)
    headers: tuple[str, ...] = await ctx.model.ask(GetImportHeaders(options.import_name))
    check_import_columns(ctx.spec, options.import_name, headers)
    await resume_interrupted(ctx, options)
    await ctx.mapping.ask(LoadMappings(ctx.flow))
    directory = ctx.work_dir / f"{ctx.flow}-{ctx.run_id}-spool"
    started: PullStarted = await ctx.poller.ask(
        StartPull(run_id=ctx.run_id, flow=ctx.flow, full=full)
    )
    keep = False
    try:
        pulled = await _pull(ctx)
        spool = await _map_and_spool(ctx, options, directory, delta=started.mode == "delta")
        if spool.rows:
            spool_file = _spool_file(spool, options)
            await ctx.flush()
            checkpoint.write(
                directory,
                RunCheckpoint(
                    run_id=ctx.run_id,
                    flow=ctx.flow,
                    import_name=options.import_name,
                    watermark=pulled.watermark,
                    spool=spool_file,
                    tally=ctx.tally.frozen(),
                ),
            )
            keep = True
            loaded = await _load(ctx, options, spool_file)
            keep = False
            await record_load(ctx, spool, loaded)
        ctx.report("auditing")
        await ctx.flush()
        watermark: str | None = await ctx.poller.ask(CommitWatermark(ctx.flow))
    except Exception:
        if keep:
            log.warning(
                "run_checkpoint_kept",
                extra={"flow": ctx.flow, "run_id": ctx.run_id, "directory": str(directory)},
            )
        else:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        # Shielded so a stopping service still deletes the pull's files; bounded, and quiet if
        # the poller is already gone (then its own on_stop cleaned up).
        with anyio.move_on_after(10, shield=True), contextlib.suppress(ActorStopped):
            await ctx.poller.ask(EndPull(ctx.flow))
    shutil.rmtree(directory, ignore_errors=True)
    tally = ctx.tally
    status = "partial" if tally.quarantined or tally.failed else "succeeded"
    return RunOutcome(status, watermark)


async def resume_interrupted(ctx: RunContext, options: ValueFlowOptions) -> None:
    """Finish the runs of this flow that were cut short while their load was in flight (see
    :mod:`mlc.flows.checkpoint`); a resume that fails is logged and given up, so the new run
    reads the same changes again instead."""
    for directory, saved in checkpoint.find(ctx.work_dir, ctx.flow):
        if saved.run_id == ctx.run_id:
            continue
        old = RunContext(
            spec=ctx.spec,
            run_id=saved.run_id,
            trigger=ctx.trigger,
            audit=ctx.audit,
            poller=ctx.poller,
            mapping=ctx.mapping,
            model=ctx.model,
            clock=ctx.clock,
            work_dir=ctx.work_dir,
            progress=ctx.progress,
            started=ctx.clock.monotonic(),
            tally=Tally.resumed(saved.tally),
        )
        spool = Spool(
            directory=directory,
            header=saved.spool.header,
            rows=saved.spool.rows,
            size=saved.spool.size,
        )
        try:
            ctx.report("resuming")
            loaded = await _load(old, options, saved.spool)
            await record_load(old, spool, loaded)
            await old.flush()
            if saved.watermark is not None:
                await ctx.poller.ask(CommitWatermark(ctx.flow, value=saved.watermark))
            status = "partial" if old.tally.quarantined or old.tally.failed else "succeeded"
            note = f"resumed by run {ctx.run_id}" + (
                "; reattached to its Anaplan task" if loaded.reattached else ""
            )
            await ctx.audit.ask(
                CloseRun(run_id=saved.run_id, status=status, tally=old.tally.frozen(), error=note)
            )
            log.info(
                "run_resumed",
                extra={"flow": ctx.flow, "run_id": saved.run_id, "by_run": ctx.run_id,
                       "reattached": loaded.reattached, "status": status},
            )  # fmt: skip
        except Exception as exc:
            log.warning(
                "run_resume_failed",
                extra={"flow": ctx.flow, "run_id": saved.run_id, "error": str(exc)},
            )
            await ctx.audit.ask(
                CloseRun(
                    run_id=saved.run_id,
                    status="failed",
                    tally=old.tally.frozen(),
                    error=f"could not be resumed by run {ctx.run_id}: {exc}",
                )
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)


async def _pull(ctx: RunContext) -> PullProgress:
    while True:
        progress: PullProgress = await ctx.poller.ask(ContinuePull(ctx.flow))
        ctx.source_rows = progress.source_rows
        ctx.report("pulling")
        if progress.done:
            return progress


async def _map_and_spool(
    ctx: RunContext, options: ValueFlowOptions, directory: Path, *, delta: bool
) -> Spool:
    writer = SpoolWriter(directory, ctx.spec.headers)
    emitted: set[str] = set()
    try:
        while True:
            batch: RecordBatch = await ctx.poller.ask(NextCells(flow=ctx.flow, limit=CELL_BATCH))
            if batch.cells:
                if delta:
                    emitted.update(cell.key for cell in batch.cells)
                await _map_batch(ctx, options, writer, batch.cells, delta=delta)
                ctx.report("mapping")
            if batch.done:
                break
        if delta:
            await _retry_quarantined(ctx, options, writer, emitted)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


async def _map_batch(
    ctx: RunContext,
    options: ValueFlowOptions,
    writer: SpoolWriter,
    cells: Sequence[SourceCell],
    *,
    delta: bool,
) -> None:
    result: BatchMapped = await ctx.mapping.ask(MapCells(flow=ctx.flow, cells=tuple(cells)))
    ctx.tally.read += len(cells)
    ctx.tally.mapped += len(result.mapped)
    ctx.tally.quarantined += len(result.quarantined)
    events = [
        ctx.event(
            row.key,
            row.content_hash,
            "mapped",
            "quarantined",
            error=f"{row.reason} (missing: {row.missing_code})",
            payload=row.payload,
        )
        for row in result.quarantined
    ]
    to_send = list(result.mapped)
    if delta and options.skip_unchanged and to_send:
        last: dict[str, str] = await ctx.audit.ask(
            LastLoadedHashes(flow=ctx.flow, keys=tuple(row.key for row in to_send))
        )
        unchanged = [row for row in to_send if last.get(row.key) == row.content_hash]
        to_send = [row for row in to_send if last.get(row.key) != row.content_hash]
        ctx.tally.unchanged += len(unchanged)
        events.extend(
            ctx.event(row.key, row.content_hash, "mapped", "unchanged") for row in unchanged
        )
    if to_send:
        await anyio.to_thread.run_sync(
            writer.write_many, [(row.key, row.values, row.content_hash) for row in to_send]
        )
    await ctx.record(events)


async def _retry_quarantined(
    ctx: RunContext, options: ValueFlowOptions, writer: SpoolWriter, emitted: set[str]
) -> None:
    """Map again the cells the last committed run quarantined (a member may exist by now)."""
    last: int | None = await ctx.audit.ask(LastCommittedRun(ctx.flow))
    if last is None:
        return
    after = 0
    while True:
        records: tuple[StoredRecord, ...] = await ctx.audit.ask(
            ReadRecords(run_id=last, status="quarantined", after_id=after, limit=CELL_BATCH)
        )
        if not records:
            return
        after = records[-1].id
        cells = [
            decode_cell(record.payload)
            for record in records
            if record.payload is not None and record.key not in emitted
        ]
        if cells:
            await _map_batch(ctx, options, writer, cells, delta=True)


def _spool_file(spool: Spool, options: ValueFlowOptions) -> SpoolFile:
    return SpoolFile(
        path=str(spool.csv_path),
        header=spool.header,
        rows=spool.rows,
        size=spool.size,
        chunk_bytes=options.chunk_megabytes * MB,
    )


async def _load(ctx: RunContext, options: ValueFlowOptions, spool: SpoolFile) -> BatchLoaded:
    ctx.report("loading")
    loaded: BatchLoaded = await ctx.model.ask(
        LoadFile(
            run_id=ctx.run_id,
            flow=ctx.flow,
            import_name=options.import_name,
            spool=spool,
            busy_timeout=options.busy_timeout_seconds,
        )
    )
    return loaded


async def record_load(
    ctx: RunContext,
    spool: Spool,
    loaded: BatchLoaded,
    *,
    stage: str = "loaded",
    ok_status: str = "ok",
) -> None:
    """Audit every spooled record with the import's outcome; raise when the task failed."""
    if not loaded.successful:
        reason = "; ".join(loaded.details) or "the import task failed"
        error = f"Anaplan import {loaded.import_name!r} task {loaded.task_id} failed: {reason}"
        for entry in spool.entries():
            ctx.tally.failed += 1
            await ctx.record([ctx.event(entry.key, entry.content_hash, stage, "failed", error)])
        await ctx.flush()
        raise RunFailed(error)
    rejected = {failure.line: failure.error for failure in loaded.failures}
    for entry in spool.entries():
        rejection = rejected.get(entry.line)
        if rejection is None:
            ctx.tally.loaded += 1
            event = ctx.event(entry.key, entry.content_hash, stage, ok_status)
        else:
            ctx.tally.failed += 1
            event = ctx.event(entry.key, entry.content_hash, stage, "failed", rejection)
        await ctx.record([event])
