"""The supervision tree of the inbound path, built from the configuration.

Actors, in start order (each may rely on those before it; they stop in reverse):

1. one ``TokenKeeper`` per connection that uses expiring tokens (``token-keeper:anaplan.fpa``…);
2. ``audit`` — the AuditActor, single writer of runs and records;
3. one ``AnaplanModelActor`` per Anaplan connection (one connection = one model):
   ``anaplan-model:anaplan.fpa``;
4. ``epicor-poller`` — the EpicorPoller;
5. ``mapping`` — the MappingActor;
6. ``flow-runner`` — the FlowRunner, which executes runs one at a time;
7. ``scheduler`` — the Scheduler, which queues and coalesces run requests.

Use::

    async with build_tree(config, store, clock, vault=vault) as tree:
        results = await tree.run_flows(["coa-align", "gl-actuals"], trigger="manual")

:meth:`Tree.submit` queues a run without waiting (what the service's schedule driver calls);
:meth:`Tree.subscribe` and :meth:`Tree.on_progress` listen to finished runs and progress.
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
from actors.flow_runner import FlowRunner
from actors.mapping import MappingActor
from actors.run_context import ProgressListener
from actors.scheduler import Scheduler, run_order
from actors.token_keeper import KeeperSettings, run_token_timer
from mlc.anaplan.limiter import TenantLimiters
from mlc.config import Config
from mlc.errors import UsageError
from mlc.flows.options import InboundFlowSpec, inbound_spec, is_inbound
from mlc.messages import (
    AnaplanModelMessage,
    AuditMessage,
    EpicorPollerMessage,
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


def inbound_specs(config: Config) -> dict[str, InboundFlowSpec]:
    """Every inbound flow of ``config``, checked; one :class:`UsageError` lists all problems."""
    specs: dict[str, InboundFlowSpec] = {}
    problems: list[str] = []
    for name, flow in config.flows.items():
        if not is_inbound(flow):
            continue
        try:
            specs[name] = inbound_spec(name, flow)
        except UsageError as exc:
            problems.append(str(exc))
    if problems:
        raise UsageError("\n".join(problems))
    return specs


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
    _finished: OrderedDict[int, RunFinished] = field(default_factory=OrderedDict)
    _changed: anyio.Event = field(default_factory=anyio.Event)
    _listeners: list[FinishedListener] = field(default_factory=list)
    _progress: list[ProgressListener] = field(default_factory=list)

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

    # --- listeners -------------------------------------------------------------------------

    def subscribe(self, listener: FinishedListener) -> Callable[[], None]:
        """Call ``listener`` with every finished run; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def on_progress(self, listener: ProgressListener) -> Callable[[], None]:
        """Call ``listener`` with the progress of every run; returns the unsubscribe function."""
        self._progress.append(listener)
        return lambda: self._progress.remove(listener)

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
    """Start the inbound tree for ``config`` (see the module docs); stop it on exit.

    Every inbound flow is checked; only the enabled ones are wired (their connections, with
    their credentials).

    :raises UsageError: a flow's options or columns are invalid, or a credential is missing.
    """
    settings = settings or TreeSettings()
    specs = {
        name: spec for name, spec in inbound_specs(config).items() if config.flows[name].enabled
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
        for ref in sorted({spec.source for spec in specs.values()}):
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
        for ref in sorted({spec.target for spec in specs.values()}):
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
