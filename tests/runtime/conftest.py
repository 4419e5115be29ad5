from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from anyio.abc import TaskGroup

from mlc.runtime.clock import ManualClock


class RecordingClock(ManualClock):
    """A ManualClock that remembers every sleep it was asked for, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.requested.append(seconds)
        await super().sleep(seconds)


WaitUntil = Callable[[Callable[[], bool]], Awaitable[None]]


async def _wait_until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds; fail after 5 s instead of hanging."""
    with anyio.fail_after(5):
        while not condition():
            await wait_all_tasks_blocked()
            await anyio.lowlevel.checkpoint()


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def wait_until() -> WaitUntil:
    return _wait_until


BoundedTaskGroup = Callable[[], AbstractAsyncContextManager[TaskGroup]]


@asynccontextmanager
async def _bounded_task_group() -> AsyncIterator[TaskGroup]:
    """A task group that fails the test after 10 s instead of letting it hang."""
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            yield tg


@pytest.fixture
def task_group() -> BoundedTaskGroup:
    return _bounded_task_group
