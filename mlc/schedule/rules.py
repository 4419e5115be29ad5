"""The three kinds of close-calendar rule. Each answers in UTC, computing in its own zone.

Every rule offers ``next_after(t)`` (the first fire time strictly after ``t``) and
``between(start, end)`` (fire times in ``(start, end]``, ascending, lazily). The two are computed
independently (``between`` walks forward once instead of restarting), which lets the tests check
one against the other.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

from cronsim import CronSim

from mlc.schedule.business_days import BusinessCalendar, month_end, period_of
from mlc.schedule.wallclock import at_on, require_aware


class Rule(Protocol):
    def next_after(self, t: datetime) -> datetime | None:
        """The first fire time strictly after ``t``, in UTC; ``None`` if there is none."""
        ...

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Fire times ``start < x <= end`` in UTC, ascending."""
        ...


class CronRule:
    """A five-field cron expression evaluated in an IANA zone with ``cronsim``.

    DST semantics are cronsim's (checked in the tests):

    * minute and hour both fixed (``30 2 * * *``, ``0 6,18 * * 1-5``): wall-time semantics as in
      :mod:`mlc.schedule.wallclock` — a skipped time fires at the first valid instant after the
      gap, a repeated time fires once, at its first occurrence;
    * minute or hour a wildcard (``*/15 * * * *``, ``0 * * * *``): real elapsed time — nothing
      fires inside a skipped hour, and a repeated hour fires in both passes, so an hourly job
      still runs every real hour.

    cronsim returns a wall time's first occurrence even when asked from inside the repeated
    hour's second pass, which can be before ``t``; such candidates are skipped, so a repeated
    wall time never fires twice.
    """

    def __init__(self, expression: str, zone: ZoneInfo) -> None:
        self.expression = expression
        self.zone = zone
        CronSim(expression, datetime(2000, 1, 1, tzinfo=zone))

    def _walk(self, t: datetime) -> Iterator[datetime]:
        require_aware(t, "t")
        last = t
        for candidate in CronSim(self.expression, t.astimezone(self.zone)):
            instant = candidate.astimezone(UTC)
            if instant > last:
                last = instant
                yield instant

    def next_after(self, t: datetime) -> datetime | None:
        return next(self._walk(t), None)

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        require_aware(end, "end")
        for instant in self._walk(start):
            if instant > end:
                return
            yield instant

    def __str__(self) -> str:
        return f"cron {self.expression!r} in {self.zone.key}"


class BusinessDayRule:
    """The ``n``-th business day after each calendar month end, at a local wall time.

    ``n=1`` is the first business day after the period end. Business days are Monday to Friday
    minus the rule's holidays; the period end itself never counts.
    """

    def __init__(self, n: int, at: time, zone: ZoneInfo, calendar: BusinessCalendar) -> None:
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self.n = n
        self.at = at
        self.zone = zone
        self.calendar = calendar

    def fire_date(self, period: int) -> date:
        """The local date on which the close of month ``period`` fires."""
        return self.calendar.nth_business_day_after(month_end(period), self.n)

    def _fire(self, period: int) -> datetime:
        return at_on(self.fire_date(period), self.at, self.zone)

    def _first_period_after(self, t: datetime) -> int:
        require_aware(t, "t")
        period = period_of(t.astimezone(self.zone).date()) - 1
        while self._fire(period) > t:
            period -= 1
        while self._fire(period) <= t:
            period += 1
        return period

    def next_after(self, t: datetime) -> datetime | None:
        return self._fire(self._first_period_after(t))

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        require_aware(end, "end")
        period = self._first_period_after(start)
        last = start
        while (instant := self._fire(period)) <= end:
            if instant > last:
                last = instant
                yield instant
            period += 1

    def __str__(self) -> str:
        holidays = f", {len(self.calendar.holidays)} holidays" if self.calendar.holidays else ""
        return (
            f"business day {self.n} after month end at {self.at:%H:%M} in {self.zone.key}{holidays}"
        )


class DatesRule:
    """Explicit local dates (budget approvals, year-end) at one wall time."""

    def __init__(self, dates: Sequence[date], at: time, zone: ZoneInfo) -> None:
        self.dates = sorted(set(dates))
        self.at = at
        self.zone = zone
        self._instants = [at_on(day, at, zone) for day in self.dates]

    def next_after(self, t: datetime) -> datetime | None:
        require_aware(t, "t")
        index = bisect.bisect_right(self._instants, t)
        return self._instants[index] if index < len(self._instants) else None

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        require_aware(start, "start")
        require_aware(end, "end")
        low = bisect.bisect_right(self._instants, start)
        high = bisect.bisect_right(self._instants, end)
        return iter(self._instants[low:high])

    def __str__(self) -> str:
        days = ", ".join(day.isoformat() for day in self.dates)
        return f"dates {days} at {self.at:%H:%M} in {self.zone.key}"
