from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from mlc.runtime.clock import ManualClock

WaitUntil = Callable[[Callable[[], bool]], Awaitable[None]]


async def _wait_until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds; fail after 5 s instead of hanging."""
    with anyio.fail_after(5):
        while not condition():
            await wait_all_tasks_blocked()
            await anyio.lowlevel.checkpoint()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def wait_until() -> WaitUntil:
    return _wait_until
