"""What makes flows run on their own: the close calendar, signals, ``mlc trigger`` rows, restarts.

The driver turns each of these into a run request ``submit(flow, trigger)`` for the Scheduler
actor, which owns the runs and coalesces duplicates (a request for a flow that is already running
or pending adds nothing, so N requests during a run leave one pending run per flow). Trigger
labels, as recorded on the run and in the metrics: ``schedule``, ``missed`` (a fire time passed
while the service was down), ``resume`` (the last run was cut short), ``manual`` (``mlc
trigger``), ``signal`` (SIGUSR1/SIGUSR2 without stored triggers).

Signals (DESIGN §6):

* SIGUSR1 runs the pending ``mlc trigger`` rows, or every enabled inbound flow when none are
  pending. ``mlc trigger`` stores its rows and then signals, so two quick ``mlc trigger`` calls
  can both be served by the first signal; the second signal would then find nothing pending and,
  taken literally, run every inbound flow. A SIGUSR1 that finds no rows within
  ``echo_window`` seconds after the driver took some is therefore treated as the echo of that
  ``mlc trigger`` and only logged. A bare ``kill -USR1`` sent within those seconds of an
  ``mlc trigger`` is absorbed the same way.
* SIGUSR2 runs every enabled outbound flow (Anaplan to the ERP).

Stored triggers are consumed right after their run was requested, so a crash between the two
runs them again at the next start (at-least-once; the flows are idempotent), while a consumed
trigger whose requested run was still pending at a shutdown is not run again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

import anyio
from anyio.abc import TaskStatus

from mlc.config import FlowConfig
from mlc.flows.options import is_inbound
from mlc.flows.outbound.options import is_outbound
from mlc.ops.calendar import FlowCalendar, utc
from mlc.runtime.clock import Clock
from mlc.store import Store

log = logging.getLogger("mlc.scheduler")

Submit = Callable[[str, str], Awaitable[None]]
Direction = Literal["inbound", "outbound", "other"]

#: Statuses of a flow's latest run that mean it was cut short and must run again at start.
_CUT_SHORT = frozenset({"running", "interrupted", "cancelled"})


def flow_direction(flow: FlowConfig) -> Direction:
    """``inbound``: ERP to planning (the inbound kinds); ``outbound``: planning back to the ERP
    (the outbound kinds, which the tree runs like any other flow)."""
    if is_inbound(flow):
        return "inbound"
    if is_outbound(flow):
        return "outbound"
    return "other"


class ScheduleDriver:
    """Requests runs from the calendar (:meth:`run`), signals and stored triggers."""

    def __init__(
        self,
        flows: Mapping[str, FlowConfig],
        store: Store,
        clock: Clock,
        submit: Submit,
        *,
        max_sleep: float = 60.0,
        echo_window: float = 5.0,
    ) -> None:
        self._flows = dict(flows)
        self._store = store
        self._clock = clock
        self._submit = submit
        self._max_sleep = max_sleep
        self._echo_window = echo_window
        self.calendar = FlowCalendar(self._flows, utc(clock.time()))
        self._sleep: anyio.CancelScope | None = None
        self._stopped = False
        self._last_intake: float | None = None
        self._intake = anyio.Lock()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def enabled(self, direction: Direction | None = None) -> list[str]:
        return [
            name
            for name, flow in self._flows.items()
            if flow.enabled and (direction is None or flow_direction(flow) == direction)
        ]

    async def _request(self, flow: str, trigger: str) -> bool:
        if self._stopped:
            log.info("run_request_dropped", extra={"flow": flow, "trigger": trigger})
            return False
        try:
            await self._submit(flow, trigger)
        except Exception as exc:
            log.warning(
                "run_request_failed",
                extra={"flow": flow, "trigger": trigger, "error": f"{type(exc).__name__}: {exc}"},
            )
            return False
        log.info("run_requested", extra={"flow": flow, "trigger": trigger})
        return True

    # -- the calendar ----------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Fire scheduled flows on the clock until :meth:`stop`."""
        task_status.started()
        while not self._stopped:
            now = utc(self._clock.time())
            for flow in self.calendar.take_due(now):
                await self._request(flow, "schedule")
            earliest = self.calendar.earliest()
            wait = self._max_sleep
            if earliest is not None:
                wait = min(wait, max(0.0, (earliest - now).total_seconds()))
            with anyio.CancelScope() as self._sleep:
                if not self._stopped:
                    await self._clock.sleep(wait)
            self._sleep = None

    def _wake(self) -> None:
        if self._sleep is not None:
            self._sleep.cancel()

    def reload(self, flows: Mapping[str, FlowConfig]) -> None:
        """Adopt a reloaded configuration's flows and schedules."""
        self._flows = dict(flows)
        self.calendar.replace(self._flows, utc(self._clock.time()))
        self._wake()

    def stop(self) -> None:
        """Stop taking work (SIGTERM): no more fire times, signals or triggers."""
        self._stopped = True
        self._wake()

    # -- start-up ----------------------------------------------------------------------------

    async def start_up(self, *, run_missed: bool) -> list[tuple[str, str]]:
        """Request what is owed at start: cut-short runs, stored triggers, missed fire times.

        Returns ``(flow, trigger)`` for every request made, in order.
        """
        async with self._intake:
            return await self._start_up(run_missed)

    async def _start_up(self, run_missed: bool) -> list[tuple[str, str]]:
        made: list[tuple[str, str]] = []
        requested: set[str] = set()
        now = utc(self._clock.time())
        last_started: dict[str, float | None] = {}
        for flow in self.enabled():
            runs = await self._store.list_runs(flow=flow, limit=1)
            last_started[flow] = runs[0].started_at if runs else None
            if runs and runs[0].status in _CUT_SHORT and await self._request(flow, "resume"):
                made.append((flow, "resume"))
                requested.add(flow)
        for flow in await self._take_triggers():
            made.append((flow, "manual"))
            requested.add(flow)
        if run_missed:
            for flow in self.calendar.flows:
                started = last_started.get(flow)
                last = utc(started) if started is not None else None
                if (
                    flow not in requested
                    and self.calendar.missed(flow, last, now)
                    and await self._request(flow, "missed")
                ):
                    made.append((flow, "missed"))
        return made

    # -- signals and stored triggers -------------------------------------------------------

    async def _take_triggers(self) -> list[str]:
        """Request a run for every flow with pending ``mlc trigger`` rows; consume the rows."""
        triggers = await self._store.pending_triggers()
        if not triggers:
            return []
        flows: list[str] = []
        for trigger in triggers:
            flow = self._flows.get(trigger.flow)
            if flow is None or not flow.enabled:
                log.warning(
                    "trigger_ignored",
                    extra={
                        "flow": trigger.flow,
                        "trigger_id": trigger.id,
                        "reason": "disabled" if flow is not None else "no such flow",
                    },
                )
            elif trigger.flow not in flows:
                flows.append(trigger.flow)
        requested = [flow for flow in flows if await self._request(flow, "manual")]
        taken = [t.id for t in triggers if t.flow in requested or t.flow not in flows]
        await self._store.consume_triggers(taken)
        self._last_intake = self._clock.monotonic()
        return requested

    async def on_run_signal(self) -> list[str]:
        """SIGUSR1: the pending triggers' flows, or every enabled inbound flow."""
        async with self._intake:
            return await self._run_signal()

    async def _run_signal(self) -> list[str]:
        if self._stopped:
            log.info("signal_ignored", extra={"signal": "SIGUSR1", "reason": "draining"})
            return []
        flows = await self._take_triggers()
        if flows:
            return flows
        if (
            self._last_intake is not None
            and self._clock.monotonic() - self._last_intake < self._echo_window
        ):
            log.info(
                "signal_ignored",
                extra={"signal": "SIGUSR1", "reason": "its mlc trigger rows were already taken"},
            )
            return []
        return [flow for flow in self.enabled("inbound") if await self._request(flow, "signal")]

    async def on_outbound_signal(self) -> list[str]:
        """SIGUSR2: every enabled outbound flow."""
        async with self._intake:
            if self._stopped:
                log.info("signal_ignored", extra={"signal": "SIGUSR2", "reason": "draining"})
                return []
            flows = self.enabled("outbound")
            return [flow for flow in flows if await self._request(flow, "signal")]
