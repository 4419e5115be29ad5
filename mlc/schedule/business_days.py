"""Business days: weekdays that are not holidays, and counting them after a period end."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta

_DAY = timedelta(days=1)


class BusinessCalendar:
    """Monday to Friday, minus the given holidays."""

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def nth_business_day_after(self, day: date, n: int) -> date:
        """The ``n``-th business day strictly after ``day`` (``n=1``: the next business day)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        count = 0
        while count < n:
            day += _DAY
            if self.is_business_day(day):
                count += 1
        return day


def month_end(period: int) -> date:
    """Last day of the month numbered ``period`` (``year * 12 + month - 1``)."""
    year, month0 = divmod(period, 12)
    return date(year, month0 + 1, calendar.monthrange(year, month0 + 1)[1])


def period_of(day: date) -> int:
    """The month number of ``day``, as used by :func:`month_end`."""
    return day.year * 12 + day.month - 1
