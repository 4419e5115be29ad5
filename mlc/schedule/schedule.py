"""One flow's schedule: the union of its rules."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime

from mlc.schedule.rules import Rule
from mlc.schedule.wallclock import require_aware


class Schedule:
    """The fire times of several rules, merged; two rules firing at one instant fire once.

    All arguments must be timezone-aware; all results are UTC.
    """

    def __init__(self, rules: Sequence[Rule] = ()) -> None:
        self.rules = tuple(rules)

    def next_fire_after(self, t: datetime) -> datetime | None:
        """The first fire time strictly after ``t``, or ``None`` when no rule fires again."""
        require_aware(t, "t")
        candidates = [instant for rule in self.rules if (instant := rule.next_after(t))]
        return min(candidates, default=None)

    def iter_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Fire times ``start < x <= end``, ascending, computed lazily."""
        require_aware(start, "start")
        require_aware(end, "end")
        merged = heapq.merge(*(rule.between(start, end) for rule in self.rules))
        return (instant for instant, _ in itertools.groupby(merged))

    def fire_times_between(
        self, start: datetime, end: datetime, *, limit: int | None = None
    ) -> list[datetime]:
        """Fire times ``start < x <= end``, ascending; at most ``limit`` of them."""
        return list(itertools.islice(self.iter_between(start, end), limit))

    def missed_since(self, last_run_at: datetime | None, now: datetime) -> datetime | None:
        """The earliest fire time missed since the last run, or ``None``.

        The service runs a flow once at start-up when this is not ``None``, not once per missed
        fire time: a run covers everything due up to now. ``last_run_at`` is when the last run
        that counts (scheduled or manual) started; a flow that never ran has missed nothing.
        """
        require_aware(now, "now")
        if last_run_at is None:
            return None
        first = self.next_fire_after(last_run_at)
        return first if first is not None and first <= now else None
