"""The supervision tree of both directions, built from the configuration.

Actors, in start order (each may rely on those before it; they stop in reverse):

1. one ``TokenKeeper`` per connection that uses expiring tokens (``token-keeper:anaplan.fpa``…),
   whatever role the connection plays: a connection that is the inbound flows' source and the
   outbound flows' target is wired once, with one keeper and one HTTP session;
2. ``audit`` — the AuditActor, single writer of runs and records;
3. one ``AnaplanModelActor`` per Anaplan connection (one connection = one model):
   ``anaplan-model:anaplan.fpa``, shared by the inbound flows that import into the model and
   the outbound flows that export from it, so one action at a time runs on the model;
4. one ``EpicorWriter`` per Epicor connection an outbound flow writes
   (``epicor-writer:epicor.main``);
5. ``epicor-poller`` — the EpicorPoller;
6. ``mapping`` — the MappingActor;
7. ``flow-runner`` — the FlowRunner, which executes runs of either direction one at a time;
8. ``scheduler`` — the Scheduler, which queues and coalesces run requests.

Use::

    async with build_tree(config, store, clock, vault=vault) as tree:
        results = await tree.run_flows(["coa-align", "gl-actuals", "budget-to-gl"])

:meth:`Tree.submit` queues a run without waiting (what the service's schedule driver calls);
:meth:`Tree.subscribe`, :meth:`Tree.on_progress` and :meth:`Tree.on_change` listen to finished
runs, progress, and the changes outbound runs make; :meth:`Tree.replay` re-sends an outbound
run's records (``mlc replay``).
Leaving the ``async with`` stops every actor (a run still going is cut at the supervisor's
shutdown deadline and marked ``interrupted`` at the next start).
"""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.abc import TaskStatus

from actors.anaplan_model import AnaplanModelActor, ModelSettings
from actors.audit import AuditActor
from actors.connections import AnaplanWired, EpicorWired, wire_anaplan, wire_epicor
from actors.epicor_poller import EpicorPoller
from actors.epicor_writer import EpicorWriter
from actors.flow_runner import ChangeListener, FlowRunner
from actors.mapping import MappingActor
from actors.outbound_run import OutboundActorPorts, OutboundFlow
from actors.run_context import ProgressListener
from actors.scheduler import Scheduler, run_order
from actors.token_keeper import KeeperSettings, run_token_timer
from mlc.anaplan.limiter import TenantLimiters
from mlc.config import Config
from mlc.epicor.client import EpicorClient
from mlc.errors import UsageError
from mlc.flows.options import InboundFlowSpec, inbound_spec, is_inbound
from mlc.flows.outbound.options import OutboundFlowSpec, outbound_specs
from mlc.flows.outbound.replay import replay_outbound
from mlc.flows.outbound.run import OutboundResult
from mlc.messages import (
    AnaplanModelMessage,
    AuditMessage,
    EpicorPollerMessage,
    EpicorWriterMessage,
    FlowRunnerMessage,
    GetRunQueue,
    MappingMessage,
    RunFinished,
    RunFlow,
    RunProgress,
    RunQueue,
    RunQueued,
    SchedulerMessage,
    TokenKeeperMessage,
)
from mlc.runtime import ActorRef, Clock, RestartPolicy, Supervisor
from mlc.store import Store
from mlc.vault import Vault, resolve_credential

log = logging.getLogger("mlc.tree")

FinishedListener = Callable[[RunFinished], None]

#: Finished runs remembered for :meth:`Tree.wait` (a waiter may ask after the run ended).
_REMEMBERED = 256


@dataclass(frozen=True)
class TreeSettings:
    """Knobs that are not configuration: test and benchmark speed-ups, mostly."""

    model: ModelSettings = field(default_factory=ModelSettings)
    #: Token keepers' timing; ``None`` derives it from each connection's refresh margin.
    keeper: KeeperSettings | None = None
    #: Spools and pull files; default ``<state_dir>/work``.
    work_dir: Path | None = None
    #: Longest sleep of a token keeper's timer between checks.
    token_timer_max_sleep: float = 60.0
    #: Every outbound run (and replay) writes nothing and reports what it would change
    #: (``mlc sync --dry-run``, ``mlc replay --dry-run``), whatever the flows' options say.
    outbound_dry_run: bool = False


def _inbound_specs(config: Config, problems: list[str]) -> dict[str, InboundFlowSpec]:
    specs: dict[str, InboundFlowSpec] = {}
    for name, flow in config.flows.items():
        if not is_inbound(flow):
            continue
        try:
            specs[name] = inbound_spec(name, flow)
        except UsageError as exc:
            problems.append(str(exc))
    return specs


@dataclass(frozen=True)
class FlowSpecs:
    inbound: dict[str, InboundFlowSpec]
    outbound: dict[str, OutboundFlowSpec]


def flow_specs(config: Config) -> FlowSpecs:
    """Every inbound and outbound flow of ``config``, enabled or not, checked; one
    :class:`UsageError` lists every problem of both directions."""
    problems: list[str] = []
    inbound = _inbound_specs(config, problems)
    outbound: dict[str, OutboundFlowSpec] = {}
    try:
        outbound = outbound_specs(config.flows)
    except UsageError as exc:
        problems.append(str(exc))
    if problems:
        raise UsageError("\n".join(problems))
    return FlowSpecs(inbound, outbound)


@dataclass(eq=False)
class Tree:
    """The running tree: refs to its actors and the calls to request and await runs."""

    config: Config
    supervisor: Supervisor
    specs: Mapping[str, InboundFlowSpec]
    scheduler: ActorRef[SchedulerMessage]
    runner: ActorRef[FlowRunnerMessage]
    audit: ActorRef[AuditMessage]
    poller: ActorRef[EpicorPollerMessage]
    mapping: ActorRef[MappingMessage]
    models: Mapping[str, ActorRef[AnaplanModelMessage]]
    keepers: Mapping[str, ActorRef[TokenKeeperMessage]]
    #: The enabled outbound flows, by name.
    outbound: Mapping[str, OutboundFlow]
    #: EpicorWriter per Epicor connection an outbound flow writes (``epicor.main``).
    writers: Mapping[str, ActorRef[EpicorWriterMessage]]
    clock: Clock
    work_dir: Path
    outbound_dry_run: bool = False
    _finished: OrderedDict[int, RunFinished] = field(default_factory=OrderedDict)
    _changed: anyio.Event = field(default_factory=anyio.Event)
    _listeners: list[FinishedListener] = field(default_factory=list)
    _progress: list[ProgressListener] = field(default_factory=list)
    _change_listeners: list[ChangeListener] = field(default_factory=list)

    # --- requests --------------------------------------------------------------------------

    async def submit(self, flow: str, trigger: str, *, full: bool = False) -> RunQueued:
        """Queue one run of ``flow`` (or join its pending run); does not wait for it."""
        queued: RunQueued = await self.scheduler.ask(RunFlow(flow=flow, trigger=trigger, full=full))
        return queued

    async def wait(self, ticket: int) -> RunFinished:
        """The run of ``ticket``, once it finished."""
        while True:
            found = self._finished.get(ticket)
            if found is not None:
                return found
            changed = self._changed
            await changed.wait()

    async def run_flows(
        self, flows: Iterable[str], *, trigger: str = "manual", full: bool = False
    ) -> list[RunFinished]:
        """Run ``flows`` once each (``coa-align`` first) and return their results in run order.

        :raises UsageError: a flow is unknown or disabled (nothing is queued then).
        """
        ordered = run_order(self.config.flows, flows)
        for name in ordered:
            if not self.config.flows[name].enabled:
                raise UsageError(f"flow {name!r} is disabled (flows.{name}.enabled = false)")
        tickets = [(await self.submit(name, trigger, full=full)).ticket for name in ordered]
        return [await self.wait(ticket) for ticket in dict.fromkeys(tickets)]

    async def queue(self) -> RunQueue:
        queue: RunQueue = await self.scheduler.ask(GetRunQueue())
        return queue

    async def replay(
        self, flow: str, run_id: int, *, record_key: str | None = None
    ) -> OutboundResult:
        """Re-send run ``run_id`` of outbound ``flow``: its failed and quarantined records, or
        the one record ``record_key`` (:mod:`mlc.flows.outbound.replay`). The replay is its own
        run, linked to ``run_id``; its change lines go to the :meth:`on_change` listeners.

        Not queued through the Scheduler: for ``mlc replay``, whose tree runs nothing else.

        :raises UsageError: ``flow`` is not an enabled outbound flow, or the run cannot be
            replayed (no such run, another flow's run, nothing to replay).
        """
        found = self.outbound.get(flow)
        if found is None:
            raise UsageError(f"flow {flow!r} is not an enabled outbound flow: nothing to replay")
        context = found.context(
            self.clock,
            self.work_dir,
            dry_run=self.outbound_dry_run,
            report=lambda line: self._change(flow, line),
        )
        return await replay_outbound(context, run_id, record_key=record_key)

    # --- listeners -------------------------------------------------------------------------

    def subscribe(self, listener: FinishedListener) -> Callable[[], None]:
        """Call ``listener`` with every finished run; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def on_progress(self, listener: ProgressListener) -> Callable[[], None]:
        """Call ``listener`` with the progress of every run; returns the unsubscribe function."""
        self._progress.append(listener)
        return lambda: self._progress.remove(listener)

    def on_change(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener(flow, line)`` with every change an outbound run makes (or, dry run,
        would make) in Epicor: ``set budget MAIN 6100|21|00 2026-03: 1,000.00 -> 1,250.00``…;
        returns the unsubscribe function."""
        self._change_listeners.append(listener)
        return lambda: self._change_listeners.remove(listener)

    def _announce(self, finished: RunFinished) -> None:
        self._finished[finished.ticket] = finished
        while len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
        for listener in list(self._listeners):
            try:
                listener(finished)
            except Exception:
                log.exception("run_listener_failed", extra={"flow": finished.flow})

    def _report(self, progress: RunProgress) -> None:
        for listener in list(self._progress):
            try:
                listener(progress)
            except Exception:
                log.exception("progress_listener_failed", extra={"flow": progress.flow})

    def _change(self, flow: str, line: str) -> None:
        for listener in list(self._change_listeners):
            try:
                listener(flow, line)
            except Exception:
                log.exception("change_listener_failed", extra={"flow": flow})


def _restart_policy(config: Config) -> RestartPolicy:
    supervisor = config.supervisor
    return RestartPolicy(
        initial_delay=supervisor.backoff_initial_seconds,
        max_delay=supervisor.backoff_max_seconds,
        max_restarts=supervisor.max_restarts,
        window=supervisor.restart_window_seconds,
    )


@asynccontextmanager
async def build_tree(
    config: Config,
    store: Store,
    clock: Clock,
    *,
    vault: Vault | None = None,
    settings: TreeSettings | None = None,
) -> AsyncIterator[Tree]:
    """Start the tree for ``config`` (see the module docs); stop it on exit.

    Every flow of both directions is checked; only the enabled ones are wired (their
    connections, with their credentials).

    :raises UsageError: a flow's options or columns are invalid, or a credential is missing.
    """
    settings = settings or TreeSettings()
    checked = flow_specs(config)
    specs = {name: spec for name, spec in checked.inbound.items() if config.flows[name].enabled}
    outbound_flows = {
        name: spec for name, spec in checked.outbound.items() if config.flows[name].enabled
    }
    work_dir = settings.work_dir or Path(config.service.state_dir) / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(
        clock=clock,
        restart_policy=_restart_policy(config),
        shutdown_timeout=config.service.shutdown_grace_seconds,
    )
    mailbox = config.supervisor.mailbox_size

    async def secret(name: str) -> str:
        return await resolve_credential(config, vault, name)

    async with AsyncExitStack() as stack:
        limiters = TenantLimiters()
        epicor: dict[str, EpicorWired] = {}
        anaplan: dict[str, AnaplanWired] = {}
        epicor_refs = {spec.source for spec in specs.values()} | {
            spec.target for spec in outbound_flows.values()
        }
        anaplan_refs = {spec.target for spec in specs.values()} | {
            spec.source for spec in outbound_flows.values()
        }
        for ref in sorted(epicor_refs):
            name = ref.split(".", 1)[1]
            epicor[ref] = await wire_epicor(
                name,
                config.connections.epicor[name],
                secret,
                clock=clock,
                supervisor=supervisor,
                stack=stack,
                keeper_settings=settings.keeper,
            )
        for ref in sorted(anaplan_refs):
            name = ref.split(".", 1)[1]
            anaplan[ref] = await wire_anaplan(
                name,
                config.connections.anaplan[name],
                secret,
                clock=clock,
                supervisor=supervisor,
                stack=stack,
                limiters=limiters,
                keeper_settings=settings.keeper,
                keep_secret=vault.set if vault is not None else None,
            )
        audit: ActorRef[AuditMessage] = supervisor.add(
            "audit", lambda: AuditActor(store), mailbox_size=mailbox
        )
        models: dict[str, ActorRef[AnaplanModelMessage]] = {}
        for ref, wired in anaplan.items():
            connection = config.connections.anaplan[ref.split(".", 1)[1]]
            models[ref] = supervisor.add(
                f"anaplan-model:{ref}",
                _model_factory(
                    wired, connection.workspace, connection.model, store, clock, settings
                ),
                mailbox_size=mailbox,
            )
        writers: dict[str, ActorRef[EpicorWriterMessage]] = {
            ref: supervisor.add(
                f"epicor-writer:{ref}",
                _writer_factory(epicor[ref].client, store),
                mailbox_size=mailbox,
            )
            for ref in sorted({spec.target for spec in outbound_flows.values()})
        }
        outbound = {
            name: OutboundFlow(
                spec=spec,
                ports=OutboundActorPorts(
                    audit=audit, model=models[spec.source], writer=writers[spec.target], store=store
                ),
                writer=writers[spec.target],
            )
            for name, spec in outbound_flows.items()
        }
        poller: ActorRef[EpicorPollerMessage] = supervisor.add(
            "epicor-poller",
            lambda: EpicorPoller(
                clients={ref: wired.client for ref, wired in epicor.items()},
                specs=specs,
                store=store,
                work_dir=work_dir,
            ),
            mailbox_size=mailbox,
        )
        mapping: ActorRef[MappingMessage] = supervisor.add(
            "mapping",
            lambda: MappingActor(specs=specs, models=models, store=store),
            mailbox_size=mailbox,
        )
        scheduler_ref: list[ActorRef[SchedulerMessage]] = []

        async def finished(result: RunFinished) -> None:
            await scheduler_ref[0].tell(result)

        keepers = {
            wired.name: wired.keeper
            for wired in (*epicor.values(), *anaplan.values())
            if wired.keeper is not None
        }
        tree_box: list[Tree] = []
        runner: ActorRef[FlowRunnerMessage] = supervisor.add(
            "flow-runner",
            lambda: FlowRunner(
                specs=specs,
                audit=audit,
                poller=poller,
                mapping=mapping,
                models=models,
                clock=clock,
                work_dir=work_dir,
                finished=finished,
                progress=lambda progress: tree_box[0]._report(progress),
                outbound=outbound,
                changes=lambda flow, line: tree_box[0]._change(flow, line),
                dry_run=settings.outbound_dry_run,
            ),
            mailbox_size=mailbox,
        )
        tickets = itertools.count(1)
        scheduler: ActorRef[SchedulerMessage] = supervisor.add(
            "scheduler",
            lambda: Scheduler(
                flows=config.flows,
                runner=runner,
                clock=clock,
                announce=lambda result: tree_box[0]._announce(result),
                tickets=tickets,
            ),
            mailbox_size=mailbox,
        )
        scheduler_ref.append(scheduler)
        tree = Tree(
            config=config,
            supervisor=supervisor,
            specs=specs,
            scheduler=scheduler,
            runner=runner,
            audit=audit,
            poller=poller,
            mapping=mapping,
            models=models,
            keepers=keepers,
            outbound=outbound,
            writers=writers,
            clock=clock,
            work_dir=work_dir,
            outbound_dry_run=settings.outbound_dry_run,
        )
        tree_box.append(tree)
        # The token timers end with the supervisor, however it stops (the context exiting, a
        # request_stop from the service, an escalation), not a minute later at their next tick.
        timer_scope = anyio.CancelScope()

        async def supervise(*, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            try:
                await supervisor.run(task_status=task_status)
            finally:
                timer_scope.cancel()

        async def timers() -> None:
            with timer_scope:
                async with anyio.create_task_group() as group:
                    for keeper in keepers.values():
                        group.start_soon(
                            _token_timer, keeper, clock, settings.token_timer_max_sleep
                        )

        try:
            async with anyio.create_task_group() as tg:
                await tg.start(supervise)
                tg.start_soon(timers)
                try:
                    yield tree
                finally:
                    timer_scope.cancel()
                    supervisor.request_stop()
        except BaseExceptionGroup as group:
            raise _sole(group) from None


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception inside nested task-group groups, so callers see an ``MlcError`` (or a
    ``SupervisorEscalation``) as itself; a group of several stays a group."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    return leaves[0] if len(leaves) == 1 else group


async def _token_timer(
    keeper: ActorRef[TokenKeeperMessage], clock: Clock, max_sleep: float
) -> None:
    await run_token_timer(keeper, clock, max_sleep=max_sleep)


def _model_factory(
    wired: AnaplanWired,
    workspace: str,
    model: str,
    store: Store,
    clock: Clock,
    settings: TreeSettings,
) -> Callable[[], AnaplanModelActor]:
    return lambda: AnaplanModelActor(
        connection=wired.name,
        client=wired.client,
        cloudworks=wired.cloudworks,
        workspace=workspace,
        model=model,
        store=store,
        clock=clock,
        settings=settings.model,
    )


def _writer_factory(client: EpicorClient, store: Store) -> Callable[[], EpicorWriter]:
    return lambda: EpicorWriter(client, store)
