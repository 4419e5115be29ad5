"""The close calendar: when each flow runs.

Rules (cron in an IANA zone, N-th business day after month end, explicit dates) compute in their
own zone and answer in UTC; a :class:`Schedule` merges one flow's rules. Daylight-saving policy is
in :mod:`mlc.schedule.wallclock` and :class:`~mlc.schedule.rules.CronRule`.
"""

from __future__ import annotations

from mlc.schedule.business_days import BusinessCalendar as BusinessCalendar
from mlc.schedule.errors import ScheduleError as ScheduleError
from mlc.schedule.rules import BusinessDayRule as BusinessDayRule
from mlc.schedule.rules import CronRule as CronRule
from mlc.schedule.rules import DatesRule as DatesRule
from mlc.schedule.rules import Rule as Rule
from mlc.schedule.schedule import Schedule as Schedule
from mlc.schedule.spec import ScheduleRule as ScheduleRule
from mlc.schedule.spec import ScheduleRuleSpec as ScheduleRuleSpec
from mlc.schedule.spec import build_schedule as build_schedule
from mlc.schedule.spec import rule_from_spec as rule_from_spec
