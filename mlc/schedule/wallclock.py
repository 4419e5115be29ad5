"""Local wall-clock times to UTC instants, with one fixed policy for daylight-saving changes.

Finance schedules are written as wall times ("06:00 in Berlin"). Twice a year a wall time is
either skipped (spring forward) or happens twice (fall back). The policy, shared by every rule
kind and matching what ``cronsim`` does for fixed-time cron expressions (Debian cron semantics):

* a skipped wall time fires once, at the first valid instant after the gap (02:30 on the day
  Berlin jumps from 02:00 to 03:00 fires at 03:00 CEST) — a daily job still runs that day;
* a repeated wall time fires once, at its first occurrence (``fold=0``, still summer time).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: The longest gap any zone has had (Pacific/Apia skipped 2011-12-30 entirely).
_LONGEST_GAP = timedelta(days=2)


def exists(naive: datetime, zone: ZoneInfo) -> bool:
    """Whether the wall time ``naive`` happens at all in ``zone``."""
    local = naive.replace(tzinfo=zone, fold=0)
    return local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def wall_to_utc(naive: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the wall time ``naive`` fires in ``zone`` (see module policy)."""
    candidate = naive
    while not exists(candidate, zone):
        candidate += timedelta(minutes=1)
        if candidate - naive > _LONGEST_GAP:
            raise ValueError(f"{naive} never happens in {zone.key}")
    return candidate.replace(tzinfo=zone, fold=0).astimezone(UTC)


def at_on(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant for wall time ``at`` on local ``day`` in ``zone``."""
    return wall_to_utc(datetime.combine(day, at), zone)


def require_aware(value: datetime, name: str) -> None:
    """Refuse naive datetimes: a schedule question without a zone has no single answer."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
