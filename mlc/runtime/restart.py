"""When to restart a crashed actor, and when to give up.

Backoff is exponential with upward jitter: the ``n``-th restart within the window waits
``min(max_delay, initial_delay * multiplier**n)``, plus up to ``jitter`` times that. The jitter
only adds, so delays keep growing as long as ``multiplier > 1 + jitter``; its purpose is that
actors crashing together (a shared dependency went down) do not all come back at the same instant.

Escalation follows Erlang/OTP's intensity/period rule: an actor may be restarted at most
``max_restarts`` times within any ``window`` seconds; the next crash escalates. Because the
backoff counts restarts within the window too, an actor that has been healthy for a window starts
again from ``initial_delay``.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    initial_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.1
    max_restarts: int = 5
    window: float = 60.0

    def __post_init__(self) -> None:
        problems = []
        if not self.initial_delay >= 0:
            problems.append(f"initial_delay must be >= 0, got {self.initial_delay!r}")
        if not self.max_delay >= self.initial_delay:
            problems.append(
                f"max_delay must be >= initial_delay ({self.initial_delay!r}), "
                f"got {self.max_delay!r}"
            )
        if not self.multiplier >= 1:
            problems.append(f"multiplier must be >= 1, got {self.multiplier!r}")
        if not 0 <= self.jitter <= 1:
            problems.append(f"jitter must be between 0 and 1, got {self.jitter!r}")
        if self.max_restarts < 0:
            problems.append(f"max_restarts must be >= 0, got {self.max_restarts!r}")
        if not self.window > 0:
            problems.append(f"window must be > 0, got {self.window!r}")
        if problems:
            raise ValueError("RestartPolicy: " + "; ".join(problems))

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before restart number ``attempt`` (0-based) within the window."""
        try:
            base = min(self.max_delay, self.initial_delay * self.multiplier**attempt)
        except OverflowError:
            base = self.max_delay
        return base + base * self.jitter * rng.random()


class CrashHistory:
    """The crashes of one actor that still count against its policy's window."""

    def __init__(self, policy: RestartPolicy) -> None:
        self._policy = policy
        self._restarts: deque[float] = deque()

    def record(self, now: float) -> int | None:
        """Record a crash at monotonic time ``now``.

        Returns the restart attempt (how many restarts happened within the window before this
        one), or ``None`` when the budget is spent and the crash must escalate.
        """
        while self._restarts and self._restarts[0] <= now - self._policy.window:
            self._restarts.popleft()
        if len(self._restarts) >= self._policy.max_restarts:
            return None
        attempt = len(self._restarts)
        self._restarts.append(now)
        return attempt

    @property
    def recent(self) -> int:
        """Restarts recorded within the window as of the last :meth:`record`."""
        return len(self._restarts)
