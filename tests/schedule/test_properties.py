"""Property tests: rules agree with brute-force oracles and with themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from mlc.schedule import (
    BusinessCalendar,
    BusinessDayRule,
    CronRule,
    DatesRule,
    Rule,
    Schedule,
)
from mlc.schedule.wallclock import wall_to_utc

ZONES = [ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")]

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 6, 30), timezones=st.just(UTC)
)
zones = st.sampled_from(ZONES)
# Hours clear of the 01:00-03:00 DST gaps, so the oracle below can use plain zone arithmetic.
safe_times = st.builds(time, st.integers(4, 23), st.integers(0, 59))
any_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
holiday_sets = st.sets(st.dates(date(2024, 10, 1), date(2028, 12, 31)), max_size=60)


def oracle_business_day(end: date, n: int, holidays: set[date]) -> date:
    day, found = end, 0
    while found < n:
        day = date.fromordinal(day.toordinal() + 1)
        if day.isoweekday() <= 5 and day not in holidays:
            found += 1
    return day


def month_ends_around(t: datetime, months: int) -> list[date]:
    ends = []
    year, month = t.year, t.month
    for offset in range(-months, months + 1):
        y, m = divmod(year * 12 + month - 1 + offset, 12)
        first_of_next = date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1)
        ends.append(first_of_next - timedelta(days=1))
    return ends


@settings(max_examples=150, deadline=None)
@given(t=instants, n=st.integers(1, 8), at=safe_times, zone=zones, holidays=holiday_sets)
def test_business_day_rule_matches_brute_force(
    t: datetime, n: int, at: time, zone: ZoneInfo, holidays: set[date]
) -> None:
    rule = BusinessDayRule(n, at, zone, BusinessCalendar(holidays))

    fire = rule.next_after(t)

    candidates = [
        datetime.combine(oracle_business_day(end, n, holidays), at, tzinfo=zone).astimezone(UTC)
        for end in month_ends_around(t, 4)
    ]
    assert fire == min(c for c in candidates if c > t)
    assert fire > t
    local_day = fire.astimezone(zone).date()
    assert local_day.isoweekday() <= 5
    assert local_day not in holidays


@settings(max_examples=150, deadline=None)
@given(t=instants, at=any_times, zone=zones)
def test_daily_cron_agrees_with_the_wall_clock_policy(
    t: datetime, at: time, zone: ZoneInfo
) -> None:
    rule = CronRule(f"{at.minute} {at.hour} * * *", zone)

    fire = rule.next_after(t)

    local_today = t.astimezone(zone).date()
    candidates = [
        wall_to_utc(datetime.combine(local_today + timedelta(days=k), at), zone)
        for k in range(-1, 3)
    ]
    assert fire == min(c for c in candidates if c > t)


def rules() -> st.SearchStrategy[Rule]:
    cron = st.builds(
        CronRule,
        st.sampled_from(
            ["30 2 * * *", "0 6 * * MON-FRI", "15 */6 * * *", "0 9 1,15 * *", "45 1 * * SUN"]
        ),
        zones,
    )
    business = st.builds(
        BusinessDayRule,
        st.integers(1, 5),
        any_times,
        zones,
        st.builds(BusinessCalendar, holiday_sets),
    )
    dates = st.builds(
        DatesRule,
        st.lists(st.dates(date(2025, 1, 1), date(2028, 12, 31)), max_size=8),
        any_times,
        zones,
    )
    return st.one_of(cron, business, dates)


@settings(max_examples=100, deadline=None)
@given(
    rule_list=st.lists(rules(), max_size=4),
    start=instants,
    span=st.timedeltas(timedelta(0), timedelta(days=60)),
)
def test_fire_times_between_is_the_chain_of_next_fire_after(
    rule_list: list[Rule], start: datetime, span: timedelta
) -> None:
    schedule = Schedule(rule_list)
    end = start + span

    listed = schedule.fire_times_between(start, end)

    chained = []
    cursor = schedule.next_fire_after(start)
    while cursor is not None and cursor <= end:
        chained.append(cursor)
        cursor = schedule.next_fire_after(cursor)
    assert listed == chained
    assert all(start < fire <= end for fire in listed)
    assert listed == sorted(set(listed))
    missed = schedule.missed_since(start, end)
    assert missed == (listed[0] if listed else None)
