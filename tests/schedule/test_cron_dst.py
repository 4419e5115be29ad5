"""Cron rules across daylight-saving changes: daily jobs neither skip nor double."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mlc.schedule import CronRule, ScheduleRule, build_schedule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_berlin_spring_forward_fires_once_at_the_first_valid_time() -> None:
    rule = CronRule("30 2 * * *", BERLIN)

    fires = list(rule.between(utc(2026, 3, 27, 12), utc(2026, 3, 31, 0)))

    assert fires == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 0),  # 02:30 does not exist: 03:00 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]


def test_berlin_fall_back_fires_once_at_the_first_occurrence() -> None:
    rule = CronRule("30 2 * * *", BERLIN)

    fires = list(rule.between(utc(2026, 10, 24, 12), utc(2026, 10, 27, 0)))

    assert fires == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_new_york_spring_forward_and_fall_back() -> None:
    rule = CronRule("30 2 * * *", NEW_YORK)

    spring = list(rule.between(utc(2026, 3, 7, 0), utc(2026, 3, 10, 0)))
    assert spring == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]

    early = CronRule("30 1 * * *", NEW_YORK)
    fall = list(early.between(utc(2026, 10, 31, 12), utc(2026, 11, 3, 0)))
    assert fall == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_asked_from_inside_the_repeated_hour_does_not_fire_again() -> None:
    rule = CronRule("30 1 * * *", NEW_YORK)
    second_pass = datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=NEW_YORK)
    assert second_pass.astimezone(UTC) == utc(2026, 11, 1, 6, 10)

    assert rule.next_after(second_pass) == utc(2026, 11, 2, 6, 30)


def test_next_after_is_strict() -> None:
    rule = CronRule("0 6 * * *", BERLIN)
    fire = utc(2026, 1, 15, 5, 0)

    assert rule.next_after(fire) == utc(2026, 1, 16, 5, 0)
    assert rule.next_after(utc(2026, 1, 15, 4, 59, 59)) == fire


def test_hourly_rules_follow_real_hours_through_fall_back() -> None:
    rule = CronRule("0 * * * *", BERLIN)

    fires = list(rule.between(utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3, 30)))

    assert fires == [utc(2026, 10, 25, h) for h in range(4)]


def test_workday_cron_in_a_zone() -> None:
    schedule = build_schedule([ScheduleRule(cron="0 7 * * MON-FRI", timezone="Europe/Berlin")])

    fires = schedule.fire_times_between(utc(2026, 1, 2, 12), utc(2026, 1, 7, 0))

    assert fires == [utc(2026, 1, 5, 6), utc(2026, 1, 6, 6)]


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK])
def test_a_daily_job_runs_exactly_once_every_local_day_for_a_year(zone: ZoneInfo) -> None:
    rule = CronRule("30 2 * * *", zone)

    fires = list(rule.between(utc(2025, 12, 31, 12), utc(2026, 12, 31, 12)))

    days = [fire.astimezone(zone).date() for fire in fires]
    assert len(days) == 365
    assert len(set(days)) == 365
    off_time = [f.astimezone(zone) for f in fires if f.astimezone(zone).time().hour != 2]
    assert [(t.month, t.hour, t.minute) for t in off_time] == [(3, 3, 0)]
