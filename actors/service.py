"""``mlc run``: the long-running service and its lifecycle (DESIGN §6, ops reference §1, §3, §4).

Start-up, in order: take the pid file (one service per state directory), serve the ops endpoints
(``/livez`` answers from here on, ``/readyz`` is 503 until the actors run), subscribe to the
signals, open the store, mark runs a dead process left ``running`` as ``interrupted``, build the
actor tree, then request what is owed — cut-short runs, stored ``mlc trigger`` rows, fire times
missed while the service was down — and follow the close calendar.

Signals: SIGTERM/SIGINT drain (below); SIGUSR1/SIGUSR2 and calendar fire times become run requests
(:mod:`actors.schedule_driver`, coalesced by the Scheduler); SIGHUP reloads.

**Drain.** From the first SIGTERM ``/readyz`` answers 503, the calendar and the signals stop
taking work, and the tree stops: the run in progress goes on until it ends or the supervisor's
deadline cuts it, whichever is first. A cut run keeps its watermark uncommitted and its Anaplan
task id persisted, so the next start marks it ``interrupted``, requests it again (``resume``) and
the model actor reattaches to the task instead of starting another. Everything is budgeted within
``service.shutdown_grace_seconds``: the supervisor gets the grace minus a margin, a watchdog
cancels whatever is left shortly before the grace ends, and the ops server closes last. A second
SIGTERM/SIGINT skips the drain.

**Reload (SIGHUP).** The file and the mounted secret files are read and validated again, flow
options included; an invalid result is logged with every error and the old configuration stays.
A valid one takes effect at once for schedules and the status page, and for everything else by
rebuilding the actor tree once it is idle (no run going or waiting), so that connections pick up
rotated secrets and changed settings; run requests made meanwhile wait for the new tree. The
``[service]`` table (ports, paths, grace) only changes with a restart: differences are logged and
ignored, except ``log_level``, which applies at once.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio
import msgspec
from anyio.abc import TaskGroup

from actors.schedule_driver import ScheduleDriver
from actors.tree import Tree, TreeSettings, build_tree, flow_specs
from mlc.config import Config, ConfigError, load_config
from mlc.errors import MlcError
from mlc.messages import GetTokenHealth, RunFinished, RunQueue, TokenHealth
from mlc.ops.actor_metrics import register_actor_metrics
from mlc.ops.health import Heartbeat, ServiceHealth
from mlc.ops.pidfile import PidFile
from mlc.ops.schedule_view import ScheduleSnapshot
from mlc.ops.server import OpsServer
from mlc.ops.status import ServiceStatus, build_status
from mlc.runtime import ActorStopped, Clock, SignalHandler, run_signal_bridge
from mlc.store import Store
from mlc.vault import KEY_ENV, Vault, load_key

log = logging.getLogger("mlc.service")

#: Why runs left ``running`` by a previous process are ``interrupted``.
INTERRUPTED = "the service stopped before the run finished; it runs again (resume)"


@dataclass(frozen=True)
class ServiceOptions:
    """What ``mlc run`` may set beyond the configuration."""

    #: Run flows whose fire time passed while the service was down, once, at start. ``None``:
    #: ``service.run_missed_at_start`` unless set here.
    run_missed: bool | None = None
    tree: TreeSettings | None = None
    heartbeat_interval: float = 1.0


async def _end_tree_after_supervisor(tree: Tree, scope: anyio.CancelScope, clock: Clock) -> None:
    """Cancel what is left of a tree once its supervisor has stopped.

    ``build_tree`` leaves its token timers running after the supervisor stopped; each notices
    only when its sleep (up to a minute) ends, and the tree waits for them, which would eat the
    shutdown grace. Once every actor is down the timers have nothing left to do.
    """
    supervisor = tree.supervisor
    while supervisor.ready or supervisor.draining:
        await clock.sleep(0.05)
    scope.cancel()


class ServiceStopping(MlcError):
    """A run request arrived while the service drains; it is not taken."""


def grace_budget(grace: float) -> tuple[float, float]:
    """``(supervisor deadline, watchdog deadline)`` in seconds after SIGTERM.

    The margin after the supervisor's deadline leaves time to close the store and the server.
    """
    margin = min(5.0, 0.2 * grace)
    return grace - margin, grace - margin / 2


def operator_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first :class:`MlcError` in ``group`` (task groups wrap what they raise), so the CLI
    prints one line instead of a traceback; the group itself when it holds none."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            found = operator_error(error)
            if found is not error:
                return found
        elif isinstance(error, MlcError):
            return error
    return group


def _open_vault(config: Config, store: Store, environ: Mapping[str, str]) -> Vault | None:
    """The vault when a key is configured; without one every credential must come from the
    environment or a mounted secret file (a missing one is reported by name when wiring)."""
    if not config.vault.key_file and not environ.get(KEY_ENV, "").strip():
        return None
    return Vault(store, load_key(config.vault.key_file, environ))


class Service:
    """One ``mlc run``; see the module docs. ``await Service(...).run()`` returns the exit code."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        *,
        clock: Clock,
        environ: Mapping[str, str],
        options: ServiceOptions | None = None,
    ) -> None:
        self.config_path = config_path
        self.config = config
        self._clock = clock
        self._environ = environ
        self._options = options or ServiceOptions()
        self.health = ServiceHealth(Heartbeat(clock, interval=self._options.heartbeat_interval))
        self.health.config_loaded = True
        self._started_at = clock.time()
        self._stop = anyio.Event()
        self._wake = anyio.Event()
        self._tree: Tree | None = None
        self._tree_changed = anyio.Event()
        self._rebuild: Config | None = None
        self._reload_lock = anyio.Lock()
        self._main: anyio.CancelScope | None = None
        self._driver: ScheduleDriver | None = None
        self._store: Store | None = None
        self.server = OpsServer(
            self.health, host=config.service.http_host, port=config.service.http_port
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> int:
        with PidFile(self.config.service.pid_path):
            await self.server.start()
            try:
                async with anyio.create_task_group() as tg:
                    await tg.start(self.health.heartbeat.run)
                    await tg.start(run_signal_bridge, self._signal_handlers(tg))
                    with anyio.CancelScope() as self._main:
                        await self._serve()
                    if self._main.cancelled_caught:
                        log.warning("shutdown_forced", extra={"reason": "grace period ending"})
                    tg.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise operator_error(group) from None
            finally:
                with anyio.CancelScope(shield=True):
                    await self.server.close()
        log.info("service_stopped")
        return 0

    async def _serve(self) -> None:
        service = self.config.service
        store = await Store.open(service.db_path, clock=self._clock)
        try:
            self._store = store
            self.health.store_open = True
            interrupted = await store.interrupt_running_runs(INTERRUPTED)
            if interrupted:
                log.warning("runs_interrupted", extra={"run_ids": interrupted})
            vault = _open_vault(self.config, store, self._environ)
            driver = ScheduleDriver(self.config.flows, store, self._clock, self._submit)
            self._driver = driver
            self.server.status_provider = self.status
            async with anyio.create_task_group() as tg:
                await tg.start(driver.run)
                await self._run_trees(store, vault, driver, tg)
                driver.stop()
        finally:
            self.health.store_open = False
            self.server.status_provider = None
            # Even when the grace watchdog cut the drain: close the database cleanly.
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await store.close()

    async def _run_trees(
        self, store: Store, vault: Vault | None, driver: ScheduleDriver, reaper: TaskGroup
    ) -> None:
        """Build the tree, serve until stopped; rebuild it (when idle) after a reload."""
        current: Config | None = None
        candidate = self.config
        while not self._stop.is_set():
            with anyio.CancelScope() as tree_scope:
                async with AsyncExitStack() as stack:
                    try:
                        tree = await stack.enter_async_context(
                            build_tree(
                                self._tree_config(candidate),
                                store,
                                self._clock,
                                vault=vault,
                                settings=self._options.tree,
                            )
                        )
                    except MlcError as exc:
                        if current is None:
                            raise
                        log.error(
                            "config_reload_failed",
                            extra={
                                "config": str(self.config_path),
                                "errors": str(exc).splitlines(),
                            },
                        )
                        self.config, candidate = current, current
                        driver.reload(current.flows)
                        continue
                    self._attach(tree)
                    stack.callback(self._detach)
                    stack.callback(tree.subscribe(self._run_finished))
                    stack.callback(register_actor_metrics(tree.supervisor))
                    if current is None:
                        made = await driver.start_up(run_missed=self._run_missed())
                        log.info(
                            "service_ready", extra={"owed_runs": [f"{f}:{t}" for f, t in made]}
                        )
                    current = candidate
                    await self._serve_tree(tree)
                    reaper.start_soon(_end_tree_after_supervisor, tree, tree_scope, self._clock)
            if self._rebuild is not None and not self._stop.is_set():
                candidate, self._rebuild = self._rebuild, None
                log.info("tree_rebuilding")

    async def _serve_tree(self, tree: Tree) -> None:
        """Return on stop, or once a rebuild is due and the tree has nothing running or waiting."""
        while not self._stop.is_set():
            wake = self._wake
            if self._rebuild is not None:
                try:
                    queue: RunQueue = await tree.queue()
                except ActorStopped:
                    return
                if queue.running is None and not queue.pending:
                    return
            await wake.wait()

    def _tree_config(self, config: Config) -> Config:
        supervisor_deadline, _ = grace_budget(self.config.service.shutdown_grace_seconds)
        service = msgspec.structs.replace(
            self.config.service, shutdown_grace_seconds=supervisor_deadline
        )
        return msgspec.structs.replace(config, service=service)

    def _attach(self, tree: Tree) -> None:
        self._tree = tree
        self.health.supervisor = tree.supervisor
        self.health.supervisor_running = True
        self.health.connection_health = self.connection_health
        self._signal_tree_change()

    def _detach(self) -> None:
        self.health.supervisor = None
        self.health.supervisor_running = False
        self._tree = None
        self.health.connection_health = None
        self._signal_tree_change()

    def _signal_tree_change(self) -> None:
        changed, self._tree_changed = self._tree_changed, anyio.Event()
        changed.set()

    def _poke(self) -> None:
        wake, self._wake = self._wake, anyio.Event()
        wake.set()

    def _run_finished(self, finished: RunFinished) -> None:
        self._poke()

    def _run_missed(self) -> bool:
        if self._options.run_missed is not None:
            return self._options.run_missed
        return self.config.service.run_missed_at_start

    async def _submit(self, flow: str, trigger: str) -> None:
        """The driver's way in: waits while there is no tree (start-up, rebuild)."""
        while True:
            if self._stop.is_set():
                raise ServiceStopping(f"not running {flow}: the service is stopping")
            tree = self._tree
            if tree is not None and self._rebuild is None:
                await tree.submit(flow, trigger)
                return
            await self._tree_changed.wait()

    # -- signals -----------------------------------------------------------------------------

    def _signal_handlers(self, tg: TaskGroup) -> dict[signal.Signals, SignalHandler]:
        async def stop(signum: signal.Signals) -> None:
            self.request_stop(signum.name, tg)

        async def reload(signum: signal.Signals) -> None:
            tg.start_soon(self.reload)

        async def run_now(signum: signal.Signals) -> None:
            driver = self._driver
            if driver is None:
                log.info("signal_ignored", extra={"signal": signum.name, "reason": "starting"})
            elif signum == signal.SIGUSR1:
                tg.start_soon(driver.on_run_signal)
            else:
                tg.start_soon(driver.on_outbound_signal)

        return {
            signal.SIGTERM: stop,
            signal.SIGINT: stop,
            signal.SIGHUP: reload,
            signal.SIGUSR1: run_now,
            signal.SIGUSR2: run_now,
        }

    def request_stop(self, reason: str, tg: TaskGroup) -> None:
        """Begin the drain (see the module docs); a second call ends it at once."""
        if self._stop.is_set():
            log.warning("shutdown_hurried", extra={"signal": reason})
            if self._main is not None:
                self._main.cancel()
            return
        grace = self.config.service.shutdown_grace_seconds
        log.info("service_draining", extra={"signal": reason, "grace_seconds": grace})
        self.health.draining = True
        self._stop.set()
        if self._driver is not None:
            self._driver.stop()
        self._poke()
        self._signal_tree_change()
        tg.start_soon(self._watchdog)

    async def _watchdog(self) -> None:
        _, deadline = grace_budget(self.config.service.shutdown_grace_seconds)
        await self._clock.sleep(deadline)
        if self._main is not None:
            self._main.cancel()

    # -- reload ------------------------------------------------------------------------------

    async def reload(self) -> bool:
        """SIGHUP: adopt the configuration on disk if it is valid (see the module docs)."""
        async with self._reload_lock:
            try:
                new = load_config(self.config_path, self._environ)
                flow_specs(new)
            except MlcError as exc:
                errors = list(exc.errors) if isinstance(exc, ConfigError) else str(exc).splitlines()
                log.error(
                    "config_reload_failed",
                    extra={"config": str(self.config_path), "errors": errors},
                )
                return False
            old = self.config.service
            if new.service != old:
                ignored = sorted(
                    name
                    for name in old.__struct_fields__
                    if name != "log_level" and getattr(old, name) != getattr(new.service, name)
                )
                if ignored:
                    log.warning("config_reload_needs_restart", extra={"keys": ignored})
                if new.service.log_level != old.log_level:
                    logging.getLogger("mlc").setLevel(new.service.log_level.upper())
                new = msgspec.structs.replace(
                    new, service=msgspec.structs.replace(old, log_level=new.service.log_level)
                )
            self.config = new
            if self._driver is not None:
                self._driver.reload(new.flows)
            if self._stop.is_set():
                return True
            self._rebuild = new
            self._poke()
            log.info("config_reloaded", extra={"config": str(self.config_path)})
            return True

    # -- views -------------------------------------------------------------------------------

    async def connection_health(self) -> list[TokenHealth]:
        tree = self._tree
        if tree is None:
            return []
        found: list[TokenHealth] = []
        for keeper in tree.keepers.values():
            with anyio.move_on_after(1.0):
                try:
                    found.append(await keeper.ask(GetTokenHealth()))
                except MlcError:
                    continue
        return found

    async def status(self) -> ServiceStatus:
        tree = self._tree
        queue: RunQueue | None = None
        if tree is not None:
            with anyio.move_on_after(2.0):
                try:
                    queue = await tree.queue()
                except ActorStopped:
                    queue = None
        assert self._store is not None and self._driver is not None
        state = (
            "draining" if self.health.draining else "running" if tree is not None else "starting"
        )
        return await build_status(
            config=self.config,
            store=self._store,
            schedule=ScheduleSnapshot(self._driver.calendar, queue),
            connections=await self.connection_health(),
            state=state,
            started_at=self._started_at,
            now=self._clock.time(),
        )
