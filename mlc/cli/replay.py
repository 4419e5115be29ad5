"""``mlc replay RUN [--record KEY]``: send a run's failed and quarantined records again.

After the cause is fixed (a mapping added, a period reopened), ``mlc replay 42`` re-sends every
record of run 42 whose status is ``quarantined`` or ``failed``; ``--record KEY`` re-sends one
record (``mlc audit show 42`` lists the keys). The replay is its own run, audited and linked to
run 42 (``parent_run_id``); ``--dry-run`` prints what it would change and writes nothing. Only the
outbound flows (kind ``budget-to-gl``) replay records this way; inbound flows retry their
quarantined cells on their next run by themselves.

This module also holds :func:`outbound_runtime`, the actors an outbound run needs (token keepers,
the AuditActor, the AnaplanModelActor, the EpicorWriter) under one supervisor, and
:func:`sync_outbound`, which ``mlc sync`` can call for outbound flows until the service's tree
(``actors/tree.py``) runs them itself. Exit codes: 0 succeeded or partial, 1 failed, 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mlc.cli.creds import add_config_option

if TYPE_CHECKING:
    from actors.anaplan_model import ModelSettings
    from actors.epicor_writer import EpicorWriter, OutboundActorPorts
    from mlc.config import Config
    from mlc.epicor.client import EpicorClient
    from mlc.flows.outbound.options import OutboundFlowSpec
    from mlc.flows.outbound.run import OutboundContext, OutboundResult
    from mlc.messages import EpicorWriterMessage
    from mlc.runtime import ActorRef, Clock, Supervisor
    from mlc.store import Store
    from mlc.vault import Vault

HELP = "re-send a run's failed and quarantined records (outbound flows)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", type=int, metavar="RUN", help="the run to replay")
    parser.add_argument(
        "--record", metavar="KEY", help="replay only this record (any status), by its key"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would change; write nothing"
    )
    add_config_option(parser)
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="level of the JSON log lines written to stderr (default: warning)",
    )


def run(args: argparse.Namespace) -> int:
    import anyio

    from mlc.config import load_config
    from mlc.logs import configure_logging

    configure_logging(args.log_level, sys.stderr)
    config = load_config(args.config)
    code: int = anyio.run(
        _replay, config, args.run_id, args.record, bool(args.dry_run), backend="asyncio"
    )
    return code


async def _replay(config: Config, run_id: int, record: str | None, dry_run: bool) -> int:
    from mlc.cli.sync import open_vault
    from mlc.errors import UsageError
    from mlc.flows.outbound.options import is_outbound
    from mlc.runtime import SystemClock
    from mlc.store import Store

    clock = SystemClock()
    async with await Store.open(config.service.db_path, clock=clock) as store:
        run = await store.get_run(run_id)
        if run is None:
            raise UsageError(f"no run {run_id} in {config.service.db_path}")
        flow = config.flows.get(run.flow)
        if flow is not None and not is_outbound(flow):
            raise UsageError(
                f"run {run_id} is a run of {run.flow!r}, an inbound flow: its quarantined "
                "cells are retried by its next run (`mlc sync " + run.flow + "`)"
            )
        async with outbound_runtime(
            config, store, clock, vault=open_vault(config, store), flows=[run.flow]
        ) as runtime:
            result = await runtime.replay(
                run.flow, run_id, record_key=record, dry_run=dry_run, report=_printer(sys.stdout)
            )
    print_result(run.flow, result, sys.stdout)
    return 1 if result.status == "failed" else 0


def _printer(out: TextIO) -> Callable[[str], None]:
    def report(line: str) -> None:
        print(line, file=out, flush=True)

    return report


def print_result(flow: str, result: OutboundResult, out: TextIO) -> None:
    """One summary line per outbound run (and the error, if any)."""
    tally = result.tally
    mode = "dry run, nothing written: " if result.dry_run else ""
    verb = "would change" if result.dry_run else "changed"
    print(
        f"{flow}: run {result.run_id} {result.status}: {mode}{tally.read:,} read, "
        f"{tally.loaded:,} written, {tally.unchanged:,} unchanged, {tally.skipped:,} skipped, "
        f"{tally.quarantined:,} quarantined, {tally.failed:,} failed; {verb} "
        f"{tally.changes:,} cell(s)/journal(s) in Epicor",
        file=out,
    )
    if result.error:
        print(f"{flow}: {result.error}", file=out)
    elif tally.quarantined or tally.failed:
        print(
            f"{flow}: see `mlc audit show {result.run_id}`; after fixing, "
            f"`mlc replay {result.run_id}`",
            file=out,
        )
    out.flush()


async def sync_outbound(
    config: Config, flows: Sequence[str], *, trigger: str, dry_run: bool, out: TextIO
) -> int:
    """Run outbound ``flows`` once each (``mlc sync budget-to-gl [--dry-run]``); the exit code."""
    from mlc.cli.sync import open_vault
    from mlc.runtime import SystemClock
    from mlc.store import Store

    clock = SystemClock()
    failed = False
    async with await Store.open(config.service.db_path, clock=clock) as store:
        async with outbound_runtime(
            config, store, clock, vault=open_vault(config, store), flows=flows
        ) as runtime:
            for flow in flows:
                result = await runtime.run(
                    flow, trigger=trigger, dry_run=dry_run, report=_printer(out)
                )
                print_result(flow, result, out)
                failed = failed or result.status == "failed"
    return 1 if failed else 0


@dataclass(eq=False)
class OutboundRuntime:
    """Started actors for some outbound flows, and the calls that run them."""

    specs: Mapping[str, OutboundFlowSpec]
    ports: Mapping[str, OutboundActorPorts]
    clock: Clock
    work_dir: Path
    supervisor: Supervisor
    #: EpicorWriter per Epicor connection (``epicor.main``), e.g. for ``ReadBudgetVsActual``.
    writers: Mapping[str, ActorRef[EpicorWriterMessage]] = field(default_factory=dict)

    def context(
        self, flow: str, dry_run: bool, report: Callable[[str], None]
    ) -> OutboundContext:
        from mlc.flows.outbound.run import OutboundContext

        return OutboundContext(
            spec=self.specs[flow],
            ports=self.ports[flow],
            clock=self.clock,
            work_dir=self.work_dir,
            report=report,
            dry_run=dry_run,
        )

    async def run(
        self,
        flow: str,
        *,
        trigger: str = "manual",
        dry_run: bool = False,
        report: Callable[[str], None] | None = None,
    ) -> OutboundResult:
        from mlc.flows.outbound.run import run_outbound

        return await run_outbound(self.context(flow, dry_run, report or _ignore), trigger)

    async def replay(
        self,
        flow: str,
        run_id: int,
        *,
        record_key: str | None = None,
        dry_run: bool = False,
        report: Callable[[str], None] | None = None,
    ) -> OutboundResult:
        from mlc.flows.outbound.replay import replay_outbound

        context = self.context(flow, dry_run, report or _ignore)
        return await replay_outbound(context, run_id, record_key=record_key)


def _ignore(line: str) -> None:
    del line


@asynccontextmanager
async def outbound_runtime(
    config: Config,
    store: Store,
    clock: Clock,
    *,
    vault: Vault | None,
    flows: Sequence[str],
    work_dir: Path | None = None,
    model_settings: ModelSettings | None = None,
) -> AsyncIterator[OutboundRuntime]:
    """Start the actors ``flows`` need; stop them on exit.

    ``model_settings``: the AnaplanModelActor's polling (tests shorten it).
    """
    import anyio

    from actors.anaplan_model import AnaplanModelActor
    from actors.audit import AuditActor
    from actors.connections import AnaplanWired, EpicorWired, wire_anaplan, wire_epicor
    from actors.epicor_writer import OutboundActorPorts
    from actors.token_keeper import run_token_timer
    from mlc.anaplan.limiter import TenantLimiters
    from mlc.flows.outbound.options import outbound_specs
    from mlc.runtime import RestartPolicy, Supervisor
    from mlc.vault import resolve_credential

    specs = outbound_specs(config.flows, flows)
    work = work_dir or Path(config.service.state_dir) / "work"
    work.mkdir(parents=True, exist_ok=True)
    policy = config.supervisor
    supervisor = Supervisor(
        clock=clock,
        restart_policy=RestartPolicy(
            initial_delay=policy.backoff_initial_seconds,
            max_delay=policy.backoff_max_seconds,
            max_restarts=policy.max_restarts,
            window=policy.restart_window_seconds,
        ),
        shutdown_timeout=config.service.shutdown_grace_seconds,
    )

    async def secret(name: str) -> str:
        return await resolve_credential(config, vault, name)

    async with AsyncExitStack() as stack:
        limiters = TenantLimiters()
        anaplan: dict[str, AnaplanWired] = {}
        epicor: dict[str, EpicorWired] = {}
        for ref in sorted({spec.source for spec in specs.values()}):
            name = ref.split(".", 1)[1]
            anaplan[ref] = await wire_anaplan(
                name, config.connections.anaplan[name], secret, clock=clock,
                supervisor=supervisor, stack=stack, limiters=limiters,
            )  # fmt: skip
        for ref in sorted({spec.target for spec in specs.values()}):
            name = ref.split(".", 1)[1]
            epicor[ref] = await wire_epicor(
                name, config.connections.epicor[name], secret, clock=clock,
                supervisor=supervisor, stack=stack,
            )  # fmt: skip
        audit = supervisor.add("audit", lambda: AuditActor(store))
        models = {}
        for ref, wired in anaplan.items():
            connection = config.connections.anaplan[ref.split(".", 1)[1]]

            def model(
                wired: AnaplanWired = wired, workspace: str = connection.workspace,
                name: str = connection.model,
            ) -> AnaplanModelActor:  # fmt: skip
                return AnaplanModelActor(
                    connection=wired.name, client=wired.client, cloudworks=wired.cloudworks,
                    workspace=workspace, model=name, store=store, clock=clock,
                    settings=model_settings,
                )  # fmt: skip

            models[ref] = supervisor.add(f"anaplan-model:{ref}", model)
        writers = {
            ref: supervisor.add(f"epicor-writer:{ref}", _writer_factory(wired.client, store))
            for ref, wired in epicor.items()
        }
        ports = {
            name: OutboundActorPorts(
                audit=audit, model=models[spec.source], writer=writers[spec.target], store=store
            )
            for name, spec in specs.items()
        }
        keepers = [
            wired.keeper
            for wired in (*anaplan.values(), *epicor.values())
            if wired.keeper is not None
        ]
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(supervisor.run)
                try:
                    async with anyio.create_task_group() as timers:
                        for keeper in keepers:
                            timers.start_soon(run_token_timer, keeper, clock)
                        try:
                            yield OutboundRuntime(specs, ports, clock, work, supervisor, writers)
                        finally:
                            timers.cancel_scope.cancel()
                finally:
                    supervisor.request_stop()
        except BaseExceptionGroup as group:
            raise _sole(group) from None


def _writer_factory(client: EpicorClient, store: Store) -> Callable[[], EpicorWriter]:
    from actors.epicor_writer import EpicorWriter

    return lambda: EpicorWriter(client, store)


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a task group wrapped (a usage error, say), else the group itself."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    return leaves[0] if len(leaves) == 1 else group


async def demo_budget_to_gl(
    config: Config,
    store: Store,
    clock: Clock,
    *,
    vault: Vault | None,
    out: TextIO,
    flow: str = "budget-to-gl",
    model_settings: ModelSettings | None = None,
) -> OutboundResult:
    """For ``mlc demo``: run ``flow`` once, print its summary, then budget vs actual per cost
    center for the current fiscal year to date, read back from Epicor (not from Anaplan)."""
    import datetime as dt

    from mlc.flows.budget_report import format_budget_vs_actual
    from mlc.flows.outbound.periods import period_containing
    from mlc.messages import BudgetVsActual, ReadBudgetVsActual

    async with outbound_runtime(
        config, store, clock, vault=vault, flows=[flow], model_settings=model_settings
    ) as runtime:
        spec = runtime.specs[flow]
        print(f"\nrunning: {flow} (Anaplan {spec.options.export!r} -> Epicor budgets)", file=out)
        result = await runtime.run(flow, trigger="demo")
        print_result(flow, result, out)
        options = spec.options
        today = dt.datetime.fromtimestamp(clock.time(), dt.UTC).date()
        current = period_containing(today, options.fiscal_year_start_month)
        report: BudgetVsActual = await runtime.writers[spec.target].ask(
            ReadBudgetVsActual(
                fiscal_year=current.year,
                budget_code=options.budget_code,
                book=options.book,
                cost_center_segment=options.cost_center_segment,
                last_period=current.period,
            )
        )
    print(f"\n{format_budget_vs_actual(report)}", file=out)
    out.flush()
    return result
