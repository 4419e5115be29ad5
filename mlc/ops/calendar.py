"""The service's calendar: every enabled flow's schedule, and which flows are due when.

Pure and synchronous (the scheduler drives it with its clock): :class:`FlowCalendar` knows each
flow's next fire time and moves it on when the flow fires. The calendar math (cron in a zone,
N-th business day after period end, explicit dates, DST policy) is :mod:`mlc.schedule`'s.

Rules the service follows:

* After a flow fires, its next fire time is the first one strictly after *now*, not after the
  fire time: if the process was stalled past several fire times, the flow runs once, not once per
  fire time (a run covers everything due up to now). The same holds for the missed runs at start
  (:meth:`FlowCalendar.missed`).
* On reload, a flow whose rules did not change keeps its next fire time; a changed or new one is
  computed from now. So a SIGHUP right before a fire time neither skips nor repeats it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from mlc.config import FlowConfig, ScheduleRule
from mlc.schedule import Schedule, build_schedule

#: Fire times within this many seconds of now count as due (float rounding of epoch seconds).
_TOLERANCE = dt.timedelta(microseconds=1000)


def utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def build_schedules(flows: Mapping[str, FlowConfig]) -> dict[str, Schedule]:
    """The schedule of every enabled flow with rules; errors name ``flows.<name>.schedule[i]``."""
    return {
        name: build_schedule(flow.schedule, where=f"flows.{name}.schedule")
        for name, flow in flows.items()
        if flow.enabled and flow.schedule
    }


class FlowCalendar:
    """Next fire time per scheduled flow; see the module docs for the rules."""

    def __init__(self, flows: Mapping[str, FlowConfig], now: dt.datetime) -> None:
        self._rules: dict[str, list[ScheduleRule]] = {}
        self._schedules: dict[str, Schedule] = {}
        self._next: dict[str, dt.datetime | None] = {}
        self.replace(flows, now)

    def replace(self, flows: Mapping[str, FlowConfig], now: dt.datetime) -> None:
        """Adopt a new configuration (SIGHUP); unchanged flows keep their next fire time."""
        schedules = build_schedules(flows)
        rules = {name: list(flows[name].schedule) for name in schedules}
        following: dict[str, dt.datetime | None] = {}
        for name, schedule in schedules.items():
            if name in self._next and self._rules.get(name) == rules[name]:
                following[name] = self._next[name]
            else:
                following[name] = schedule.next_fire_after(now)
        self._schedules, self._rules, self._next = schedules, rules, following

    @property
    def flows(self) -> list[str]:
        return list(self._schedules)

    def schedule(self, flow: str) -> Schedule | None:
        return self._schedules.get(flow)

    def next_fire(self, flow: str) -> dt.datetime | None:
        return self._next.get(flow)

    def next_fire_times(self, flow: str, count: int) -> list[dt.datetime]:
        """The flow's next ``count`` fire times, from its pending one on."""
        schedule = self._schedules.get(flow)
        first = self._next.get(flow)
        if schedule is None or first is None or count <= 0:
            return []
        times = [first]
        while len(times) < count and (following := schedule.next_fire_after(times[-1])):
            times.append(following)
        return times

    def earliest(self) -> dt.datetime | None:
        """The next instant at which any flow fires."""
        return min((t for t in self._next.values() if t is not None), default=None)

    def take_due(self, now: dt.datetime) -> list[str]:
        """The flows whose fire time has come, in fire-time order; each moves to its next one."""
        due = sorted(
            (t, name)
            for name, t in self._next.items()
            if t is not None and t <= now + _TOLERANCE
        )
        for fired, name in due:
            self._next[name] = self._schedules[name].next_fire_after(max(now, fired))
        return [name for _, name in due]

    def missed(self, flow: str, last_run_started: dt.datetime | None, now: dt.datetime) -> bool:
        """Whether ``flow`` missed a fire time since its last run started (see ``missed_since``)."""
        schedule = self._schedules.get(flow)
        return schedule is not None and schedule.missed_since(last_run_started, now) is not None
