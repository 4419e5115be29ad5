"""Explicit dates, the union of rules, and missed runs at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mlc.schedule import Schedule, ScheduleRule, build_schedule
from mlc.schedule.wallclock import wall_to_utc


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


BUDGET = ScheduleRule(dates=["2026-10-15", "2026-04-15"], at="09:00", timezone="Europe/London")


def test_explicit_dates_fire_in_order_then_stop() -> None:
    schedule = build_schedule([BUDGET])

    first = schedule.next_fire_after(utc(2026, 1, 1))
    assert first == utc(2026, 4, 15, 8, 0)  # BST
    second = schedule.next_fire_after(first)
    assert second == utc(2026, 10, 15, 8, 0)  # still BST until 25 October
    assert schedule.next_fire_after(second) is None


def test_rules_are_merged_and_a_shared_instant_fires_once() -> None:
    schedule = build_schedule(
        [
            ScheduleRule(cron="0 8 15 * *", timezone="UTC"),
            ScheduleRule(dates=["2026-04-15", "2026-04-20"], at="08:00"),
        ]
    )

    fires = schedule.fire_times_between(utc(2026, 4, 1), utc(2026, 5, 31))

    assert fires == [utc(2026, 4, 15, 8), utc(2026, 4, 20, 8), utc(2026, 5, 15, 8)]
    assert schedule.next_fire_after(utc(2026, 4, 15, 8)) == utc(2026, 4, 20, 8)


def test_fire_times_between_is_half_open_and_limited() -> None:
    schedule = build_schedule([ScheduleRule(cron="0 * * * *")])

    fires = schedule.fire_times_between(utc(2026, 1, 1, 0), utc(2026, 1, 1, 3))
    assert fires == [utc(2026, 1, 1, 1), utc(2026, 1, 1, 2), utc(2026, 1, 1, 3)]

    assert schedule.fire_times_between(utc(2026, 1, 1), utc(2026, 2, 1), limit=2) == fires[:2]


def test_missed_since_reports_the_earliest_missed_fire_once() -> None:
    schedule = build_schedule([ScheduleRule(cron="0 6 * * *", timezone="UTC")])

    assert schedule.missed_since(utc(2026, 3, 1, 7), utc(2026, 3, 4, 12)) == utc(2026, 3, 2, 6)
    assert schedule.missed_since(utc(2026, 3, 1, 7), utc(2026, 3, 2, 5)) is None
    assert schedule.missed_since(utc(2026, 3, 1, 7), utc(2026, 3, 2, 6)) == utc(2026, 3, 2, 6)
    assert schedule.missed_since(None, utc(2026, 3, 4, 12)) is None


def test_an_empty_schedule_never_fires() -> None:
    schedule = Schedule()

    assert schedule.next_fire_after(utc(2026, 1, 1)) is None
    assert schedule.fire_times_between(utc(2026, 1, 1), utc(2027, 1, 1)) == []


def test_naive_datetimes_are_refused() -> None:
    schedule = build_schedule([BUDGET])

    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_fire_after(datetime(2026, 1, 1))


def test_results_are_utc_whatever_zone_the_question_is_in() -> None:
    schedule = build_schedule([BUDGET])
    tokyo = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))

    fire = schedule.next_fire_after(tokyo)

    assert fire is not None and fire.tzinfo is UTC


def test_wall_time_in_a_gap_resolves_to_the_transition() -> None:
    berlin = ZoneInfo("Europe/Berlin")

    assert wall_to_utc(datetime(2026, 3, 29, 2, 30), berlin) == utc(2026, 3, 29, 1, 0)
    assert wall_to_utc(datetime(2026, 10, 25, 2, 30), berlin) == utc(2026, 10, 25, 0, 30)
    apia = ZoneInfo("Pacific/Apia")
    skipped_day = wall_to_utc(datetime(2011, 12, 30, 9, 0), apia)
    assert skipped_day.astimezone(apia).replace(tzinfo=None) == datetime(2011, 12, 31, 0, 0)
    assert skipped_day - wall_to_utc(datetime(2011, 12, 29, 23, 59), apia) == timedelta(minutes=1)
