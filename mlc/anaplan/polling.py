"""How often to ask Anaplan about a running task.

Anaplan asks clients to poll a task at most once every 5 seconds (help 107143d0). Most of this
connector's imports finish in a few seconds, so the first polls come faster (1 s), for at most
``fast_for`` seconds in all; then the cadence is the official 5 s, and a task still running after
``grow_after`` seconds is asked about less and less often, up to ``cap``. Anaplan Connect does the
same in steps (1 s, then 10 s after 10 s, 60 s after 60 s).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollSchedule:
    first: float = 1.0
    fast_for: float = 5.0
    cadence: float = 5.0
    grow_after: float = 60.0
    growth: float = 1.5
    cap: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cadence <= self.cap:
            raise ValueError(
                f"PollSchedule needs 0 < first <= cadence <= cap, got "
                f"{self.first}, {self.cadence}, {self.cap}"
            )
        if self.growth < 1:
            raise ValueError(f"PollSchedule growth must be >= 1, got {self.growth}")

    def delay(self, elapsed: float, previous: float | None) -> float:
        """Seconds to wait before the next poll, ``elapsed`` seconds after the task started."""
        if elapsed + self.first <= self.fast_for:
            return self.first
        if elapsed < self.grow_after or previous is None:
            return self.cadence
        return min(self.cap, max(self.cadence, previous * self.growth))
