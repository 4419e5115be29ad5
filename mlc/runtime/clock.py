"""Injectable time.

Everything in the connector that waits, expires or schedules takes a :class:`Clock`, so tests can
drive time with :class:`ManualClock` instead of sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Protocol

import anyio


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock time, seconds since the Unix epoch (UTC)."""
        ...

    def monotonic(self) -> float:
        """A clock that never goes backwards, for measuring intervals."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when a test calls :meth:`advance`.

    Sleepers wake in deadline order as :meth:`advance` passes their deadline; ``sleep(0)`` only
    yields. Wall and monotonic time move together.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self._now = start
        self._origin = start
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._origin

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock now."""
        return sum(1 for _, _, event in self._sleepers if not event.is_set())

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), event))
        try:
            await event.wait()
        finally:
            event.set()

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline has passed, in order."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, event = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            event.set()
            await anyio.lowlevel.checkpoint()
        self._now = target
        await anyio.lowlevel.checkpoint()
