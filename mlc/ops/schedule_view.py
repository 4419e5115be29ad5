"""What ``/status`` shows of the scheduler: fire times from the calendar, runs from the queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

from mlc.messages import RunQueue
from mlc.ops.calendar import FlowCalendar


class ScheduleSnapshot:
    """A :class:`mlc.ops.status.ScheduleView` over the calendar and one read of the run queue."""

    def __init__(self, calendar: FlowCalendar, queue: RunQueue | None) -> None:
        self._calendar = calendar
        self._queue = queue

    def next_fire_times(self, flow: str, count: int) -> Sequence[dt.datetime]:
        return self._calendar.next_fire_times(flow, count)

    def running(self) -> Collection[str]:
        if self._queue is None or self._queue.running is None:
            return ()
        return (self._queue.running.flow,)

    def pending(self) -> Mapping[str, str]:
        if self._queue is None:
            return {}
        return {ticket.flow: ticket.trigger for ticket in self._queue.pending}
