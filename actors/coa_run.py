"""One run of ``coa-align``: read the chart, diff with the Anaplan lists, add or report, record.

See :mod:`mlc.flows.coa_align` for what is compared. In ``add`` mode each list's missing members
go through its HIERARCHY_DATA import (one spool, one task per list); rows the import rejects are
audited ``failed`` with Anaplan's reason, the others ``added``. In ``report`` mode the missing
members are audited ``missing`` (and counted as quarantined: the value flows will quarantine their
amounts until the members exist). Either way the codes present on both sides end up in the
mapping table.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio.to_thread

from actors.run_context import RunContext, RunFailed, RunOutcome
from actors.value_run import MB, record_load
from mlc.flows import coa_align
from mlc.flows.options import CoaAlignOptions, key_path
from mlc.flows.spool import SpoolWriter
from mlc.messages import (
    BatchLoaded,
    Chart,
    ChartDiff,
    ChartValue,
    DiffChart,
    GetImportHeaders,
    LoadFile,
    ReadChart,
    SaveAlignment,
    SpoolFile,
)

#: Anaplan's own limit per chunk; list imports are small, so one chunk size fits all.
CHUNK_BYTES = 50 * MB


async def run_coa_align(ctx: RunContext) -> RunOutcome:
    options = ctx.spec.options
    assert isinstance(options, CoaAlignOptions)
    ctx.report("pulling")
    chart: Chart = await ctx.poller.ask(ReadChart(ctx.flow))
    ctx.source_rows = len(chart.accounts) + len(chart.cost_centers)
    ctx.tally.read = ctx.source_rows
    ctx.report("mapping")
    diff: ChartDiff = await ctx.mapping.ask(DiffChart(flow=ctx.flow, chart=chart))
    by_code = {
        coa_align.ACCOUNT: {value.code: value for value in chart.accounts},
        coa_align.COST_CENTER: {value.code: value for value in chart.cost_centers},
    }
    aligned: dict[str, list[str]] = {
        coa_align.ACCOUNT: list(diff.matched_accounts),
        coa_align.COST_CENTER: list(diff.matched_cost_centers),
    }
    for kind, codes in aligned.items():
        ctx.tally.mapped += len(codes)
        await ctx.record(
            [
                ctx.event(
                    coa_align.value_key(ctx.flow, kind, code),
                    coa_align.value_hash(by_code[kind][code]),
                    "aligned",
                    "ok",
                )
                for code in codes
            ]
        )
    lists = (
        (coa_align.ACCOUNT, options.accounts_list, options.accounts_import, diff.missing_accounts),
        (
            coa_align.COST_CENTER,
            options.cost_centers_list,
            options.cost_centers_import,
            diff.missing_cost_centers,
        ),
    )
    for kind, list_name, import_name, missing in lists:
        if not missing:
            continue
        if options.mode == "report":
            ctx.tally.quarantined += len(missing)
            await ctx.record(
                [
                    ctx.event(
                        coa_align.value_key(ctx.flow, kind, value.code),
                        coa_align.value_hash(value),
                        "aligned",
                        "missing",
                        error=f"no member {value.code!r} in Anaplan list {list_name!r}",
                    )
                    for value in missing
                ]
            )
            continue
        aligned[kind].extend(await _add(ctx, options, kind, import_name, missing))
    ctx.report("auditing")
    await ctx.mapping.ask(
        SaveAlignment(
            flow=ctx.flow,
            accounts=tuple(aligned[coa_align.ACCOUNT]),
            cost_centers=tuple(aligned[coa_align.COST_CENTER]),
        )
    )
    await ctx.flush()
    tally = ctx.tally
    return RunOutcome("partial" if tally.quarantined or tally.failed else "succeeded")


async def _add(
    ctx: RunContext,
    options: CoaAlignOptions,
    kind: str,
    import_name: str,
    missing: Sequence[ChartValue],
) -> list[str]:
    """Add ``missing`` through ``import_name``; the codes Anaplan accepted."""
    headers: tuple[str, ...] = await ctx.model.ask(GetImportHeaders(import_name))
    header, rows = coa_align.hierarchy_rows(
        missing, ctx.spec.columns, headers, options.categories()
    )
    absent = [name for name in headers if name not in header]
    if absent:
        raise RunFailed(
            f"{key_path('flows', ctx.flow, 'columns')}: the Anaplan import {import_name!r} reads "
            f"columns {absent} that the flow does not write"
        )
    directory = ctx.work_dir / f"{ctx.flow}-{ctx.run_id}-{kind}"
    writer = SpoolWriter(directory, header)
    values = {value.code: value for value in missing}
    try:
        await anyio.to_thread.run_sync(
            writer.write_many,
            [
                (
                    coa_align.value_key(ctx.flow, kind, code),
                    row,
                    coa_align.value_hash(values[code]),
                )
                for code, row in rows
            ],
        )
        spool = writer.close()
        ctx.report("loading")
        loaded: BatchLoaded = await ctx.model.ask(
            LoadFile(
                run_id=ctx.run_id,
                flow=ctx.flow,
                import_name=import_name,
                spool=SpoolFile(
                    path=str(spool.csv_path),
                    header=spool.header,
                    rows=spool.rows,
                    size=spool.size,
                    chunk_bytes=CHUNK_BYTES,
                ),
                busy_timeout=options.busy_timeout_seconds,
            )
        )
        before = ctx.tally.loaded
        await record_load(ctx, spool, loaded, stage="aligned", ok_status="added")
        rejected = {failure.line for failure in loaded.failures}
        accepted = [
            entry.key.rsplit(":", 1)[1] for entry in spool.entries() if entry.line not in rejected
        ]
        assert len(accepted) == ctx.tally.loaded - before
        return accepted
    finally:
        writer.abort()
