"""Fiscal periods for the outbound flows: config text, Anaplan time names read back, dates.

Config names a fiscal period ``YYYY-PP`` (``2026-03``: period 3 of fiscal year 2026), the form
Epicor's own screens use for year and period. Anaplan names its time members by a pattern
(:mod:`mlc.flows.periods`); the outbound flows read those names *back* into fiscal periods with
:class:`PeriodReader`, which inverts the same :class:`~mlc.flows.periods.PeriodNaming` the inbound
flows write with, so one ``period_format`` option means the same in both directions.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from mlc.flows.periods import PeriodError, PeriodNaming

_PERIOD_TEXT = re.compile(r"^(\d{4})-(\d{2})$")

#: Years either side of the current one a time member name is looked for in (names of 12 x 99
#: periods; with two-digit years every name is unique in that window).
_SPAN = 50


class FiscalPeriod(NamedTuple):
    """Period ``period`` (1..12) of fiscal ``year``; orders chronologically."""

    year: int
    period: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.period:02d}"

    @classmethod
    def parse(cls, text: str) -> FiscalPeriod:
        """``"2026-03"`` → ``FiscalPeriod(2026, 3)``; :class:`ValueError` names the problem."""
        match = _PERIOD_TEXT.match(text.strip())
        if not match:
            raise ValueError(f"expected a fiscal period YYYY-PP (e.g. 2026-03), got {text!r}")
        year, period = int(match[1]), int(match[2])
        if not 1 <= period <= 12:
            raise ValueError(f"fiscal period {text!r}: the period must be 01..12")
        return cls(year, period)


class PeriodReader:
    """Anaplan time member names → fiscal periods, by inverting a :class:`PeriodNaming`.

    Two-digit years (``Mar 26``) name a year of every century; the reader takes the one nearest
    ``around`` (the current fiscal year), as people reading a plan do.
    """

    def __init__(self, naming: PeriodNaming, around: int) -> None:
        self.naming = naming
        self._by_name: dict[str, FiscalPeriod] = {}
        for offset in range(_SPAN):
            for year in dict.fromkeys((around + offset, around - offset)):
                for period in range(1, 13):
                    name = naming.name(year, period)
                    self._by_name.setdefault(name, FiscalPeriod(year, period))

    def read(self, name: str) -> FiscalPeriod:
        """The fiscal period named ``name``; :class:`PeriodError` if the pattern cannot make it."""
        found = self._by_name.get(name.strip())
        if found is None:
            raise PeriodError(
                f"time period {name!r} does not match period_format {self.naming.pattern!r}"
            )
        return found

    def calendar_month(self, period: FiscalPeriod) -> tuple[int, int]:
        """``(calendar year, month)`` in which ``period`` falls."""
        return self.naming.calendar_month(period.year, period.period)

    def last_day(self, period: FiscalPeriod) -> dt.date:
        """The last calendar day of ``period``: the date a journal for it is entered on."""
        year, month = self.calendar_month(period)
        first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
        return first_of_next - dt.timedelta(days=1)

    def containing(self, day: dt.date) -> FiscalPeriod:
        """The fiscal period that contains calendar day ``day``."""
        return period_containing(day, self.naming.fiscal_year_start_month)


def period_containing(day: dt.date, fiscal_year_start_month: int) -> FiscalPeriod:
    """The fiscal period containing ``day`` (fiscal years named by the year they end in)."""
    start = fiscal_year_start_month
    year = day.year if start == 1 or day.month < start else day.year + 1
    return FiscalPeriod(year, (day.month - start) % 12 + 1)
