"""The sandbox's own clock.

Emulated systems measure token lifetimes, task durations and rate-limit windows on this clock, so
a test can move the world forward (``POST /_sandbox/clock {"advance": 2100}``) instead of waiting
35 minutes. It is real time plus an offset: without control calls it behaves like the real
service. It is deliberately separate from the connector's clock: the sandbox stands in for the
outside world and imports nothing of the connector.
"""

from __future__ import annotations

import time


class SandboxClock:
    def __init__(self, offset: float = 0.0) -> None:
        self._offset = offset

    @property
    def offset(self) -> float:
        return self._offset

    def time(self) -> float:
        """Epoch seconds as the emulated systems see them."""
        return time.time() + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds

    def reset(self) -> None:
        self._offset = 0.0
