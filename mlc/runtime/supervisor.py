"""The supervisor: starts actors in order, restarts them one-for-one, escalates, drains.

Lifecycle of :meth:`Supervisor.run`:

1. Actors start one by one in the order they were added, each with ``TaskGroup.start()``: the next
   one starts only when the previous one's ``on_start`` returned, so "started" means ready and an
   actor may rely on those added before it. ``run`` reports started once all are.
2. A crash (an exception from ``on_start`` or from handling a ``tell``) is handled one-for-one:
   only that actor is rebuilt from its factory after a backoff (:mod:`mlc.runtime.restart`). Its
   mailbox and :class:`ActorRef` survive, so messages sent meanwhile wait for the new instance.
3. One crash too many within the window escalates: every actor is stopped as in 4 and ``run``
   raises :class:`SupervisorEscalation` (an ``MlcError``, exit code 1), so the process exits
   non-zero and Kubernetes restarts the pod with a clean slate.
4. :meth:`Supervisor.request_stop` drains, in reverse start order (dependents before what they
   depend on, so an actor finishing its current message can still reach its dependencies): the
   actor's mailbox stops accepting (senders get :class:`ActorStopped`), its current message runs
   to completion, ``on_stop`` runs, then every ask still queued fails with
   :class:`ActorStopped`. Queued ``tell`` messages are dropped (and counted in a log event):
   nothing in this service acknowledges work before it is durable in the store, so a dropped tell
   is redone after the restart. The whole drain has one deadline, measured on the injected clock;
   when it passes, the remaining actors are cancelled and their askers get :class:`ActorStopped`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import anyio
from anyio.abc import TaskStatus

from mlc.logs import redact
from mlc.runtime.actor import Actor, ActorRef, deliver
from mlc.runtime.clock import Clock
from mlc.runtime.errors import SupervisorEscalation
from mlc.runtime.mailbox import Mailbox, MailboxStatistics
from mlc.runtime.restart import CrashHistory, RestartPolicy

log = logging.getLogger("mlc.runtime")

Msg = TypeVar("Msg")


@dataclass(eq=False)
class _Slot(Generic[Msg]):
    """One supervised actor: its factory, its lasting mailbox and its restart bookkeeping."""

    name: str
    factory: Callable[[], Actor[Msg]]
    mailbox: Mailbox[Msg]
    ref: ActorRef[Msg]
    history: CrashHistory
    restarts: int = 0
    spawned: bool = False
    exited: anyio.Event = field(default_factory=anyio.Event)
    backoff: anyio.CancelScope | None = None
    _stopping: bool = False

    @property
    def running(self) -> bool:
        return self.spawned and not self.exited.is_set()

    def stopping(self) -> bool:
        return self._stopping

    def begin_stop(self) -> None:
        self._stopping = True
        self.mailbox.close_for_sending()
        if self.backoff is not None:
            self.backoff.cancel()

    def close(self) -> None:
        dropped = self.mailbox.close()
        if dropped:
            log.warning("actor_tells_dropped", extra={"actor": self.name, "dropped": dropped})


class Supervisor:
    """Runs a fixed, ordered set of actors; see the module docs for the lifecycle.

    Add every actor with :meth:`add` before :meth:`run`; a supervisor runs once.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        restart_policy: RestartPolicy | None = None,
        rng: random.Random | None = None,
        shutdown_timeout: float = 10.0,
    ) -> None:
        if not shutdown_timeout >= 0:
            raise ValueError(f"shutdown_timeout must be >= 0, got {shutdown_timeout!r}")
        self._clock = clock
        self._policy = restart_policy or RestartPolicy()
        self._rng = rng or random.Random()
        self._shutdown_timeout = shutdown_timeout
        self._slots: dict[str, _Slot[Any]] = {}
        self._stop_requested = anyio.Event()
        self._escalation: SupervisorEscalation | None = None
        self._state = "new"

    def add(
        self, name: str, factory: Callable[[], Actor[Msg]], *, mailbox_size: int = 64
    ) -> ActorRef[Msg]:
        """Register an actor built by ``factory`` (called again on every restart).

        The returned ref is usable at once (messages queue until the actor starts) and stays
        valid across restarts.
        """
        if self._state != "new":
            raise RuntimeError(
                f"cannot add actor {name!r}: the supervisor is already {self._state}"
            )
        if name in self._slots:
            raise ValueError(f"an actor named {name!r} is already supervised")
        mailbox: Mailbox[Msg] = Mailbox(name, mailbox_size)
        ref = ActorRef(mailbox)
        self._slots[name] = _Slot(name, factory, mailbox, ref, CrashHistory(self._policy))
        return ref

    @property
    def ready(self) -> bool:
        """Every actor started and the supervisor is not draining (for ``/readyz``)."""
        return self._state == "running"

    @property
    def draining(self) -> bool:
        return self._state == "draining"

    def restart_counts(self) -> Mapping[str, int]:
        """Restarts so far per actor name (for ``mlc_actor_restarts_total``)."""
        return MappingProxyType({name: slot.restarts for name, slot in self._slots.items()})

    def mailbox_statistics(self) -> Mapping[str, MailboxStatistics]:
        return MappingProxyType(
            {name: slot.mailbox.statistics() for name, slot in self._slots.items()}
        )

    def request_stop(self) -> None:
        """Start draining; :meth:`run` returns when done. Safe to call at any time, repeatedly."""
        self._stop_requested.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until :meth:`request_stop` (returns) or an escalation (raises).

        :raises SupervisorEscalation: an actor crashed too often. If that happens while starting,
            it is raised before ``task_status.started()``, so ``await tg.start(sup.run)`` raises it.
        """
        if self._state != "new":
            raise RuntimeError(f"a Supervisor runs once; this one is already {self._state}")
        self._state = "starting"
        reported = False
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._drain_when_requested, tg.cancel_scope, name="mlc drain")
                for slot in self._slots.values():
                    if self._stop_requested.is_set():
                        break
                    slot.spawned = True
                    await tg.start(self._supervise, slot, name=f"mlc actor {slot.name}")
                if self._escalation is None:
                    if not self._stop_requested.is_set():
                        self._state = "running"
                        log.info("supervisor_started", extra={"actors": list(self._slots)})
                    reported = True
                    task_status.started()
        finally:
            self._state = "stopped"
            for slot in self._slots.values():
                slot.begin_stop()
                slot.close()
        log.info("supervisor_stopped", extra={"escalated": self._escalation is not None})
        if self._escalation is not None:
            raise self._escalation
        if not reported:
            task_status.started()

    async def _drain_when_requested(self, scope: anyio.CancelScope) -> None:
        """Wait for a stop request, then stop the actors in reverse order within the deadline.

        Runs beside the start-up sequence, so a stop (or an escalation) during start-up also
        interrupts an actor still starting or backing off, under the same deadline.
        """
        await self._stop_requested.wait()
        self._state = "draining"
        if not any(slot.running for slot in self._slots.values()):
            return
        async with anyio.create_task_group() as watchdog:
            watchdog.start_soon(self._enforce_deadline, scope)
            for slot in reversed(self._slots.values()):
                slot.begin_stop()
                if slot.spawned:
                    await slot.exited.wait()
            watchdog.cancel_scope.cancel()

    async def _enforce_deadline(self, scope: anyio.CancelScope) -> None:
        await self._clock.sleep(self._shutdown_timeout)
        log.warning(
            "shutdown_deadline_exceeded",
            extra={
                "timeout_seconds": self._shutdown_timeout,
                "cancelled": [slot.name for slot in self._slots.values() if slot.running],
            },
        )
        scope.cancel()

    async def _supervise(self, slot: _Slot[Any], *, task_status: TaskStatus[None]) -> None:
        reported = False

        def report_ready() -> None:
            nonlocal reported
            if not reported:
                reported = True
                task_status.started()

        try:
            await self._keep_alive(slot, report_ready)
        finally:
            slot.begin_stop()
            slot.close()
            slot.exited.set()
        report_ready()

    async def _keep_alive(self, slot: _Slot[Any], report_ready: Callable[[], None]) -> None:
        while True:
            crash = await self._incarnate(slot, report_ready)
            if crash is None or slot.stopping():
                return
            attempt = slot.history.record(self._clock.monotonic())
            if attempt is None:
                self._escalate(slot, crash)
                return
            delay = self._policy.delay(attempt, self._rng)
            log.info(
                "actor_restart_scheduled",
                extra={"actor": slot.name, "attempt": attempt + 1, "delay_seconds": delay},
            )
            with anyio.CancelScope() as slot.backoff:
                await self._clock.sleep(delay)
            slot.backoff = None
            if slot.stopping():
                return
            slot.restarts += 1

    async def _incarnate(
        self, slot: _Slot[Any], report_ready: Callable[[], None]
    ) -> Exception | None:
        """Build one instance and run it until it stops (``None``) or crashes (the error)."""
        actor = slot.factory()
        actor.attach(slot.ref)
        try:
            await actor.on_start()
        except Exception as error:
            return await self._crashed(slot, actor, error, "on_start")
        report_ready()
        log.info("actor_started", extra={"actor": slot.name, "restarts": slot.restarts})
        while not slot.stopping():
            envelope = await slot.mailbox.get()
            if envelope is None:
                break
            crash = await deliver(actor, envelope)
            if crash is not None:
                return await self._crashed(slot, actor, crash, type(envelope.message).__name__)
        try:
            await actor.on_stop()
        except Exception:
            log.exception("actor_on_stop_failed", extra={"actor": slot.name})
        log.info("actor_stopped", extra={"actor": slot.name})
        return None

    async def _crashed(
        self, slot: _Slot[Any], actor: Actor[Any], error: Exception, during: str
    ) -> Exception:
        log.error(
            "actor_crashed",
            extra={"actor": slot.name, "during": during, "error": type(error).__name__},
            exc_info=error,
        )
        try:
            await actor.on_failure(error)
        except Exception:
            log.exception("actor_on_failure_failed", extra={"actor": slot.name})
        return error

    def _escalate(self, slot: _Slot[Any], crash: Exception) -> None:
        escalation = SupervisorEscalation(
            slot.name,
            slot.history.recent + 1,
            self._policy.window,
            redact(f"{type(crash).__name__}: {crash}"),
        )
        escalation.__cause__ = crash
        log.error(
            "supervisor_escalated",
            extra={"actor": slot.name, "max_restarts": self._policy.max_restarts},
        )
        if self._escalation is None:
            self._escalation = escalation
        self.request_stop()
