"""Bad schedule rules fail with the rule's config path and the field at fault."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
import pytest

from mlc.errors import UsageError
from mlc.schedule import (
    BusinessDayRule,
    CronRule,
    DatesRule,
    ScheduleError,
    ScheduleRule,
    build_schedule,
    rule_from_spec,
)

WHERE = "flows.gl-actuals.schedule"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (ScheduleRule(), r"\[0\]: a rule needs exactly one of .* \(found none\)"),
        (
            ScheduleRule(cron="0 6 * * *", dates=["2026-01-01"], at="06:00"),
            r"\[0\]: .*found cron and dates",
        ),
        (ScheduleRule(cron="61 6 * * *"), r"\[0\]\.cron: '61 6 \* \* \*' is not a valid cron"),
        (ScheduleRule(cron="0 0 6 * * *"), r"\[0\]\.cron: .* has 6 fields; use five"),
        (ScheduleRule(cron="0 6 * * *", at="06:00"), r"\[0\]\.at: does not apply to cron"),
        (
            ScheduleRule(cron="0 6 * * *", timezone="Europe/Berln"),
            r"\[0\]\.timezone: 'Europe/Berln' is not an IANA time zone",
        ),
        (
            ScheduleRule(cron="0 6 * * *", holidays=["2026-12-25"]),
            r"\[0\]\.holidays: only applies to business_day_after_period_end",
        ),
        (
            ScheduleRule(business_day_after_period_end=3),
            r"\[0\]\.at: required with this rule",
        ),
        (
            ScheduleRule(business_day_after_period_end=0, at="06:00"),
            r"\[0\]\.business_day_after_period_end: 0 must be a whole number >= 1",
        ),
        (
            ScheduleRule(business_day_after_period_end=2, at="6:75"),
            r"\[0\]\.at: '6:75' is not a time of day",
        ),
        (
            ScheduleRule(business_day_after_period_end=2, at="06:00", holidays=["2026-02-30"]),
            r"\[0\]\.holidays\[0\]: '2026-02-30' is not a date",
        ),
        (
            ScheduleRule(dates=["2026-04-15", "15.10.2026"], at="09:00"),
            r"\[0\]\.dates\[1\]: '15\.10\.2026' is not a date as 'YYYY-MM-DD'",
        ),
    ],
)
def test_invalid_rules_name_the_rule_and_field(rule: ScheduleRule, message: str) -> None:
    with pytest.raises(ScheduleError, match=f"^{WHERE}{message}") as caught:
        build_schedule([rule], WHERE)
    assert isinstance(caught.value, UsageError)
    assert caught.value.exit_code == 2


def test_the_index_of_the_bad_rule_is_named() -> None:
    rules = [ScheduleRule(cron="0 6 * * *"), ScheduleRule(cron="nonsense")]

    with pytest.raises(ScheduleError, match=rf"^{WHERE}\[1\]\.cron"):
        build_schedule(rules, WHERE)


def test_each_kind_builds_its_rule() -> None:
    assert isinstance(rule_from_spec(ScheduleRule(cron="0 6 * * *")), CronRule)
    assert isinstance(
        rule_from_spec(ScheduleRule(business_day_after_period_end=1, at="06:00")), BusinessDayRule
    )
    assert isinstance(rule_from_spec(ScheduleRule(dates=["2026-01-05"], at="06:00")), DatesRule)


@dataclass
class ConfigShapedRule:
    """Stands for the config module's own Struct: only the attribute names matter."""

    cron: str | None = None
    timezone: str = "UTC"
    business_day_after_period_end: int | None = None
    at: str | None = None
    dates: tuple[str, ...] = ()
    holidays: list[str] = field(default_factory=list)


def test_any_object_with_the_fields_is_accepted() -> None:
    spec = ConfigShapedRule(business_day_after_period_end=2, at="07:15", timezone="Asia/Tokyo")

    rule = rule_from_spec(spec)

    assert str(rule) == "business day 2 after month end at 07:15 in Asia/Tokyo"


def test_rules_decode_from_toml_data() -> None:
    text = b'business_day_after_period_end = 3\nat = "06:00"\nholidays = ["2026-05-01"]\n'

    rule = msgspec.toml.decode(text, type=ScheduleRule)

    assert rule.holidays == ["2026-05-01"]
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.toml.decode(b'crn = "0 6 * * *"\n', type=ScheduleRule)
