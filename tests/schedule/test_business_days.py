"""N-th business day after the period end, with weekends, holidays and year ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from mlc.schedule import BusinessCalendar, BusinessDayRule, ScheduleRule, build_schedule

BERLIN = ZoneInfo("Europe/Berlin")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_first_of_month_holiday_followed_by_a_weekend() -> None:
    # April 2026 ends on a Thursday; 1 May (Friday) is Labour Day, then a weekend.
    rule = BusinessDayRule(3, time(6, 0), BERLIN, BusinessCalendar([date(2026, 5, 1)]))

    assert rule.fire_date(2026 * 12 + 3) == date(2026, 5, 6)
    assert rule.next_after(utc(2026, 4, 20)) == utc(2026, 5, 6, 4, 0)


def test_without_the_holiday_the_same_rule_fires_earlier() -> None:
    rule = BusinessDayRule(3, time(6, 0), BERLIN, BusinessCalendar())

    assert rule.next_after(utc(2026, 4, 20)) == utc(2026, 5, 5, 4, 0)


def test_first_business_day_after_a_month_ending_on_saturday() -> None:
    # January 2026 ends on a Saturday: business day 1 is Monday 2 February.
    rule = BusinessDayRule(1, time(9, 30), BERLIN, BusinessCalendar())

    assert rule.next_after(utc(2026, 1, 20)) == utc(2026, 2, 2, 8, 30)


def test_year_boundary_with_new_year_and_epiphany() -> None:
    holidays = BusinessCalendar([date(2027, 1, 1), date(2027, 1, 6)])
    rule = BusinessDayRule(3, time(7, 0), BERLIN, holidays)

    assert rule.next_after(utc(2026, 12, 20)) == utc(2027, 1, 7, 6, 0)


def test_fire_time_before_t_in_the_same_month_moves_to_next_period() -> None:
    rule = BusinessDayRule(2, time(6, 0), BERLIN, BusinessCalendar())
    fire = utc(2026, 6, 2, 4, 0)

    assert rule.next_after(utc(2026, 6, 1)) == fire
    assert rule.next_after(fire) == utc(2026, 7, 2, 4, 0)


def test_between_lists_each_month_once_across_dst_and_year_end() -> None:
    schedule = build_schedule(
        [
            ScheduleRule(
                business_day_after_period_end=1,
                at="06:00",
                timezone="Europe/Berlin",
                holidays=["2027-01-01"],
            )
        ]
    )

    fires = schedule.fire_times_between(utc(2026, 9, 15), utc(2027, 4, 15))

    local = [f.astimezone(BERLIN) for f in fires]
    assert [t.date() for t in local] == [
        date(2026, 10, 1),
        date(2026, 11, 2),
        date(2026, 12, 1),
        date(2027, 1, 4),
        date(2027, 2, 1),
        date(2027, 3, 1),
        date(2027, 4, 1),
    ]
    assert {t.time() for t in local} == {time(6, 0)}


def test_n_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BusinessDayRule(0, time(6), BERLIN, BusinessCalendar())
