"""The tenant request budget and 429 storms, as the emulator counts them."""

from __future__ import annotations

from functools import partial

import anyio
import pytest

from mlc.anaplan.limiter import TenantLimiters, rolling_window_limiter
from mlc.http import RateLimited
from mlc.runtime import SystemClock
from tests.clients.anaplan.support import (
    Admission,
    DrivenClock,
    anaplan_stack,
    drive,
    serve_sandbox,
)

pytestmark = pytest.mark.anyio


def busiest_window(seen: list[Admission], window: float) -> int:
    """The most requests the emulator received within any ``window`` real seconds."""
    times = sorted(admission.real for admission in seen)
    best = 0
    start = 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_under_a_429_storm_one_tenant_limiter_keeps_every_window_within_budget() -> None:
    # The production budget is 600 per 60 s; the same limiter scaled to 30 per 1.5 s keeps the
    # test short, while 60 requests sent at once would break it twice over without the limiter.
    # (At this rate one request leaves every ~50 ms, so the emulator-side timestamps have that
    # much room for scheduling jitter before the check could misjudge.) The limiter and the
    # Retry-After waits are real time here: a rate limiter is a real-time device.
    budget, window = 30, 1.5
    limiter = rolling_window_limiter(budget, window)
    async with serve_sandbox(rate_limit_retry_after=True) as sandbox:
        async with anaplan_stack(sandbox, SystemClock(), limiter=limiter) as stack:
            sandbox.seen.clear()
            await sandbox.fault(kind="rate_limit_storm", count=10)
            answers: list[int] = []

            async def read(times: int) -> None:
                answers.extend([len(await stack.model.imports()) for _ in range(times)])

            async with anyio.create_task_group() as tg:
                for _ in range(12):
                    tg.start_soon(read, 5)
        refused = await sandbox.count(host="api", status=429)

    api = [admission for admission in sandbox.seen if admission.host == "api"]
    assert answers == [4] * 60, "every call completed"
    assert refused == 10 and len(api) == 70, "the storm's 429s were retried"
    assert busiest_window(sandbox.seen, window) <= budget


async def test_a_429_storm_is_waited_out_as_retry_after_says() -> None:
    async with serve_sandbox(rate_limit_retry_after=True) as sandbox:
        clock = DrivenClock(sandbox.now())
        limiter = TenantLimiters().for_tenant("demo")
        async with anaplan_stack(sandbox, clock, limiter=limiter) as stack:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(drive, clock, sandbox))
                await sandbox.fault(kind="rate_limit_storm", count=3)
                imports = await stack.model.imports()
                waits = list(clock.sleeps)
                tg.cancel_scope.cancel()
        refused = await sandbox.count(host="api", status=429)
        imports_route = "/2/0/workspaces/{workspace_id}/models/{model_id}/imports"
        served = await sandbox.count(host="api", route=imports_route, status=200)

    assert len(imports) == 4
    assert waits == [1.0, 1.0, 1.0], "Retry-After: 1, three times"
    assert (refused, served) == (3, 1)


async def test_a_storm_longer_than_the_retry_budget_is_one_clear_error() -> None:
    async with serve_sandbox(rate_limit_retry_after=True) as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(drive, clock, sandbox))
                await sandbox.fault(kind="rate_limit_storm", count=50)
                with pytest.raises(RateLimited) as caught:
                    await stack.model.imports()
                tg.cancel_scope.cancel()
            await sandbox.control("DELETE", "/_sandbox/faults")  # let the keeper log out
        refused = await sandbox.count(host="api", status=429)

    assert str(caught.value).startswith("anaplan.test: GET /2/0/workspaces/")
    assert "429" in str(caught.value)
    assert refused == 5, "bounded by the retry policy"


def test_every_connection_of_a_tenant_shares_one_limiter() -> None:
    limiters = TenantLimiters()
    first = limiters.for_tenant("acme", 600)
    assert limiters.for_tenant("acme", 300) is first
    assert limiters.for_tenant("other") is not first


def test_a_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_requests >= 1"):
        rolling_window_limiter(0)
