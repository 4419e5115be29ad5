"""The Scheduler: turns run requests into runs, one pending run per flow, in a sensible order.

This is the minimal core the service builds on: it owns the queue of requested runs and hands them
to the FlowRunner one at a time. What *produces* requests — close calendars, cron, signals,
``mlc trigger`` rows, replays — lives outside (``actors/schedule_driver.py``) and only sends
``RunFlow``. Rules:

* **Coalescing.** A request for a flow that already has a run *waiting* joins it (the answer is
  that run's ticket, ``coalesced=True``); a run that is already *going* does not count, because it
  may have read the source before the change that prompted the new request. So N requests during
  a run leave exactly one pending run of the flow. A ``full`` request upgrades a waiting run.
* **Order.** Runs start in request order, except that a value flow never overtakes a ``coa-align``
  run already waiting: value flows map against the lists ``coa-align`` maintains, so in one
  trigger the lists are aligned first (:func:`run_order` sorts a batch the same way).
* **Hand-over.** The FlowRunner gets ``ExecuteRun`` only when idle, so its mailbox never holds
  more than one run and pending requests can still coalesce; its ``RunFinished`` is announced to
  every listener (the tree's waiters, metrics, the status page) and the next run starts.

Disabled and unknown flows are refused with a :class:`~mlc.errors.UsageError` naming the flow.

To extend (calendars, signals): keep every decision about *when* outside; send ``RunFlow``; read
``GetRunQueue`` for ``/status``; subscribe to finished runs through the ``announce`` callback.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from mlc.config import FlowConfig
from mlc.errors import UsageError
from mlc.flows.options import COA_ALIGN
from mlc.messages import (
    ExecuteRun,
    FlowRunnerMessage,
    GetRunQueue,
    RunFinished,
    RunFlow,
    RunQueue,
    RunQueued,
    RunTicket,
    SchedulerMessage,
)
from mlc.runtime import Actor, ActorRef, Clock

log = logging.getLogger("mlc.scheduler")

Announce = Callable[[RunFinished], None]


def stage(flow: FlowConfig) -> int:
    """0 for reference-data flows (``coa-align``), 1 for the flows that depend on them."""
    return 0 if flow.kind == COA_ALIGN else 1


def run_order(flows: Mapping[str, FlowConfig], names: Iterable[str]) -> list[str]:
    """``names`` without duplicates, ``coa-align`` flows first, otherwise in the given order.

    :raises UsageError: a name is not a configured flow.
    """
    unique = list(dict.fromkeys(names))
    unknown = [name for name in unique if name not in flows]
    if unknown:
        known = ", ".join(sorted(flows)) or "none"
        raise UsageError(f"unknown flow(s) {', '.join(unknown)} (configured: {known})")
    return sorted(unique, key=lambda name: stage(flows[name]))


class Scheduler(Actor[SchedulerMessage]):
    """See the module docs. ``tickets`` is shared with the tree so ticket numbers stay unique
    across restarts of this actor."""

    def __init__(
        self,
        *,
        flows: Mapping[str, FlowConfig],
        runner: ActorRef[FlowRunnerMessage],
        clock: Clock,
        announce: Announce,
        tickets: Iterable[int] | None = None,
    ) -> None:
        self._flows = dict(flows)
        self._runner = runner
        self._clock = clock
        self._announce = announce
        self._tickets = iter(tickets) if tickets is not None else itertools.count(1)
        self._pending: deque[RunTicket] = deque()
        self._running: RunTicket | None = None

    async def receive(self, msg: SchedulerMessage) -> Any:
        match msg:
            case RunFlow():
                queued = self._request(msg)
                await self._dispatch()
                return queued
            case RunFinished():
                if self._running is not None and self._running.ticket == msg.ticket:
                    self._running = None
                self._announce(msg)
                await self._dispatch()
                return None
            case GetRunQueue():
                return RunQueue(running=self._running, pending=tuple(self._pending))

    def _request(self, msg: RunFlow) -> RunQueued:
        flow = self._flows.get(msg.flow)
        if flow is None:
            known = ", ".join(sorted(self._flows)) or "none"
            raise UsageError(f"unknown flow {msg.flow!r} (configured: {known})")
        if not flow.enabled:
            raise UsageError(f"flow {msg.flow!r} is disabled (flows.{msg.flow}.enabled = false)")
        for index, waiting in enumerate(self._pending):
            if waiting.flow == msg.flow:
                if msg.full and not waiting.full:
                    self._pending[index] = msgspec.structs.replace(waiting, full=True)
                log.info(
                    "run_coalesced",
                    extra={"flow": msg.flow, "trigger": msg.trigger, "ticket": waiting.ticket},
                )
                return RunQueued(ticket=waiting.ticket, flow=msg.flow, coalesced=True)
        ticket = RunTicket(
            ticket=next(self._tickets),
            flow=msg.flow,
            trigger=msg.trigger,
            full=msg.full,
            requested_at=self._clock.time(),
        )
        position = len(self._pending)
        if stage(flow) == 0:
            position = next(
                (i for i, t in enumerate(self._pending) if stage(self._flows[t.flow]) > 0),
                position,
            )
        self._pending.insert(position, ticket)
        log.info(
            "run_queued",
            extra={"flow": msg.flow, "trigger": msg.trigger, "ticket": ticket.ticket},
        )
        return RunQueued(ticket=ticket.ticket, flow=msg.flow, coalesced=False)

    async def _dispatch(self) -> None:
        if self._running is not None or not self._pending:
            return
        ticket = self._pending.popleft()
        self._running = ticket
        await self._runner.tell(
            ExecuteRun(
                ticket=ticket.ticket, flow=ticket.flow, trigger=ticket.trigger, full=ticket.full
            )
        )
