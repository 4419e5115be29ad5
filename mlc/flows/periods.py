"""Epicor fiscal periods → Anaplan time member names, by a configurable pattern.

Anaplan names monthly time items ``Jan 26`` by default, but a model builder can change the time
settings (fiscal year start, year labels), so the connector never hard-codes a convention: a flow's
``period_format`` option is a pattern with these placeholders:

====================  ==========================================================  ===========
placeholder           meaning                                                     FY26 P3
====================  ==========================================================  ===========
``{mon}``             calendar month abbreviation                                 ``Mar``
``{month}``           calendar month name                                         ``March``
``{mm}`` / ``{m}``    calendar month number, two digits / plain                   ``03``/``3``
``{yy}`` / ``{yyyy}`` calendar year of that month, two / four digits              ``26``
``{fy}`` / ``{fyy}``  fiscal year, four / two digits                              ``2026``
``{fp}`` / ``{fpp}``  fiscal period number, plain / two digits                    ``3``/``03``
====================  ==========================================================  ===========

``fiscal_year_start_month`` places fiscal period 1 in the calendar: 1 (January, the default) makes
fiscal and calendar years equal; 7 makes period 1 of fiscal year 2026 July 2025 — a fiscal year is
named by the calendar year in which it *ends*, the most common convention (Epicor lets each company
choose; a model that names years by their start can use ``{fy}`` patterns or a different start).
Periods outside 1..12 (Epicor's period 0 opening balances, 13th adjustment periods) have no month:
patterns that use a month placeholder reject them with :class:`PeriodError`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

#: English names, as Anaplan writes them (``calendar.month_abbr`` would follow the process locale).
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAME = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
PLACEHOLDERS = ("mon", "month", "mm", "m", "yy", "yyyy", "fy", "fyy", "fp", "fpp")
_MONTH_PLACEHOLDERS = frozenset({"mon", "month", "mm", "m", "yy", "yyyy"})


class PeriodError(ValueError):
    """A fiscal period the pattern cannot name (the message says why)."""


def pattern_problems(pattern: str) -> list[str]:
    """What is wrong with ``pattern``; empty when it is usable."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        return [f"invalid pattern {pattern!r}: {exc}"]
    problems = []
    if not fields:
        return [f"pattern {pattern!r} has no placeholder; use e.g. '{{mon}} {{yy}}'"]
    for name in fields:
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            problems.append(f"unknown placeholder {{{name}}} in {pattern!r} (known: {known})")
    return problems


@dataclass(frozen=True)
class PeriodNaming:
    """Names fiscal periods; build it from validated options (see :func:`pattern_problems`)."""

    pattern: str = "{mon} {yy}"
    fiscal_year_start_month: int = 1

    def __post_init__(self) -> None:
        problems = pattern_problems(self.pattern)
        if problems:
            raise ValueError("; ".join(problems))
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise ValueError(
                f"fiscal_year_start_month must be 1..12, got {self.fiscal_year_start_month}"
            )

    @property
    def _uses_month(self) -> bool:
        names = {name for _, name, _, _ in string.Formatter().parse(self.pattern) if name}
        return bool(names & _MONTH_PLACEHOLDERS)

    def calendar_month(self, fiscal_year: int, fiscal_period: int) -> tuple[int, int]:
        """``(calendar year, month)`` of fiscal period ``fiscal_period`` (1..12)."""
        if not 1 <= fiscal_period <= 12:
            raise PeriodError(
                f"fiscal period {fiscal_period} of {fiscal_year} is not a month (1..12)"
            )
        offset = self.fiscal_year_start_month - 1 + fiscal_period - 1
        first_year = fiscal_year if self.fiscal_year_start_month == 1 else fiscal_year - 1
        return first_year + offset // 12, offset % 12 + 1

    def name(self, fiscal_year: int, fiscal_period: int) -> str:
        """The Anaplan time member name of the period, e.g. ``Mar 26``."""
        values: dict[str, str] = {
            "fy": f"{fiscal_year:04d}",
            "fyy": f"{fiscal_year % 100:02d}",
            "fp": str(fiscal_period),
            "fpp": f"{fiscal_period:02d}",
        }
        if self._uses_month:
            year, month = self.calendar_month(fiscal_year, fiscal_period)
            values.update(
                mon=MONTH_ABBR[month - 1],
                month=MONTH_NAME[month - 1],
                mm=f"{month:02d}",
                m=str(month),
                yy=f"{year % 100:02d}",
                yyyy=f"{year:04d}",
            )
        elif fiscal_period < 0:
            raise PeriodError(f"fiscal period {fiscal_period} of {fiscal_year} is negative")
        return self.pattern.format(**values)
