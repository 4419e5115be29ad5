"""The signal bridge, with real signals sent to this very process."""

from __future__ import annotations

import os
import signal

import anyio
import pytest

from mlc.runtime import run_signal_bridge

pytestmark = pytest.mark.anyio


async def send_to_self(signum: signal.Signals) -> None:
    await anyio.to_thread.run_sync(os.kill, os.getpid(), signum)


async def test_a_real_signal_reaches_its_handler() -> None:
    received: list[signal.Signals] = []
    got = anyio.Event()

    async def on_usr1(signum: signal.Signals) -> None:
        received.append(signum)
        got.set()

    async def on_usr2(signum: signal.Signals) -> None:
        received.append(signum)

    async with anyio.create_task_group() as tg:
        await tg.start(run_signal_bridge, {signal.SIGUSR1: on_usr1, signal.SIGUSR2: on_usr2})
        with anyio.fail_after(5):
            await send_to_self(signal.SIGUSR1)
            await got.wait()
        tg.cancel_scope.cancel()
    assert received == [signal.SIGUSR1]


async def test_a_failing_handler_is_logged_and_the_bridge_keeps_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []
    second = anyio.Event()

    async def flaky(signum: signal.Signals) -> None:
        calls.append(len(calls) + 1)
        if len(calls) == 1:
            raise RuntimeError("handler bug")
        second.set()

    async with anyio.create_task_group() as tg:
        await tg.start(run_signal_bridge, {signal.SIGUSR2: flaky})
        with anyio.fail_after(5):
            await send_to_self(signal.SIGUSR2)
            while not calls:
                await anyio.wait_all_tasks_blocked()
            await send_to_self(signal.SIGUSR2)
            await second.wait()
        tg.cancel_scope.cancel()
    assert calls == [1, 2]
    failures = [r for r in caplog.records if r.getMessage() == "signal_handler_failed"]
    assert len(failures) == 1
    assert failures[0].__dict__["signal"] == "SIGUSR2"


async def test_the_bridge_refuses_to_run_off_the_main_thread() -> None:
    async def ignore(signum: signal.Signals) -> None:
        return None

    def run_in_this_thread() -> None:
        anyio.run(run_signal_bridge, {signal.SIGUSR1: ignore})

    with pytest.raises(RuntimeError, match="must run on the main thread"):
        await anyio.to_thread.run_sync(run_in_this_thread)


async def test_the_bridge_refuses_signals_it_does_not_serve() -> None:
    async def ignore(signum: signal.Signals) -> None:
        return None

    with pytest.raises(ValueError, match=r"handles only SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2"):
        await run_signal_bridge({signal.SIGALRM: ignore})
