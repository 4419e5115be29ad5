"""Schedule rules as plain data, and their validation into :mod:`mlc.schedule.rules` objects.

The configuration declares its own Struct with the same field names; :func:`rule_from_spec`
accepts anything shaped like :class:`ScheduleRuleSpec`, so this package does not depend on
``mlc.config``. A rule is exactly one of:

* ``cron`` (five fields) — ``at`` and ``holidays`` do not apply;
* ``business_day_after_period_end = N`` with ``at = "HH:MM"`` and optional ``holidays``;
* ``dates = ["YYYY-MM-DD", …]`` with ``at = "HH:MM"``.

Fields that do not apply to the chosen kind are refused rather than ignored, so a holiday list
written next to a cron expression cannot silently do nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, time
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from cronsim import CronSimError

from mlc.schedule.business_days import BusinessCalendar
from mlc.schedule.errors import ScheduleError
from mlc.schedule.rules import BusinessDayRule, CronRule, DatesRule, Rule
from mlc.schedule.schedule import Schedule

_HH_MM = re.compile(r"(\d{1,2}):(\d{2})\Z")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


class ScheduleRuleSpec(Protocol):
    """What :func:`rule_from_spec` reads; the config's Struct matches it."""

    @property
    def cron(self) -> str | None: ...

    @property
    def timezone(self) -> str: ...

    @property
    def business_day_after_period_end(self) -> int | None: ...

    @property
    def at(self) -> str | None: ...

    @property
    def dates(self) -> Sequence[str]: ...

    @property
    def holidays(self) -> Sequence[str]: ...


class ScheduleRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A rule as plain data (for callers that do not go through the config)."""

    cron: str | None = None
    timezone: str = "UTC"
    business_day_after_period_end: int | None = None
    at: str | None = None
    dates: list[str] = []
    holidays: list[str] = []


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"{where}.timezone: {name!r} is not an IANA time zone (e.g. 'Europe/Berlin')"
        ) from None


def _at(value: str | None, where: str) -> time:
    if value is None:
        raise ScheduleError(f"{where}.at: required with this rule, as 'HH:MM' local time")
    match = _HH_MM.match(value)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError(f"{where}.at: {value!r} is not a time of day as 'HH:MM'")
    return time(int(match[1]), int(match[2]))


def _dates(values: Iterable[str], where: str) -> list[date]:
    result = []
    for index, value in enumerate(values):
        try:
            if not _ISO_DATE.match(value):
                raise ValueError
            result.append(date.fromisoformat(value))
        except ValueError:
            raise ScheduleError(
                f"{where}[{index}]: {value!r} is not a date as 'YYYY-MM-DD'"
            ) from None
    return result


def _cron(expression: str, zone: ZoneInfo, where: str) -> CronRule:
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"{where}.cron: {expression!r} has {len(fields)} fields; "
            "use five (minute hour day-of-month month day-of-week)"
        )
    try:
        return CronRule(expression, zone)
    except CronSimError as exc:
        raise ScheduleError(
            f"{where}.cron: {expression!r} is not a valid cron expression ({exc})"
        ) from None


def rule_from_spec(spec: ScheduleRuleSpec, where: str = "schedule") -> Rule:
    """Validate one rule; ``where`` is its config path, used in every error message."""
    kinds = [
        name
        for name, present in (
            ("cron", spec.cron is not None),
            ("business_day_after_period_end", spec.business_day_after_period_end is not None),
            ("dates", bool(spec.dates)),
        )
        if present
    ]
    if len(kinds) != 1:
        found = f"found {' and '.join(kinds)}" if kinds else "found none"
        raise ScheduleError(
            f"{where}: a rule needs exactly one of cron, business_day_after_period_end "
            f"or dates ({found})"
        )
    zone = _zone(spec.timezone, where)
    if spec.holidays and kinds[0] != "business_day_after_period_end":
        raise ScheduleError(
            f"{where}.holidays: only applies to business_day_after_period_end rules"
        )
    if spec.cron is not None:
        if spec.at is not None:
            raise ScheduleError(f"{where}.at: does not apply to cron rules (put the time in cron)")
        return _cron(spec.cron, zone, where)
    at = _at(spec.at, where)
    n = spec.business_day_after_period_end
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ScheduleError(
                f"{where}.business_day_after_period_end: {n!r} must be a whole number >= 1 "
                "(1 = first business day after the month end)"
            )
        holidays = BusinessCalendar(_dates(spec.holidays, f"{where}.holidays"))
        return BusinessDayRule(n, at, zone, holidays)
    return DatesRule(_dates(spec.dates, f"{where}.dates"), at, zone)


def build_schedule(specs: Iterable[ScheduleRuleSpec], where: str = "schedule") -> Schedule:
    """A :class:`Schedule` from rule specs; errors name ``where[index].field``."""
    return Schedule([rule_from_spec(spec, f"{where}[{index}]") for index, spec in enumerate(specs)])
