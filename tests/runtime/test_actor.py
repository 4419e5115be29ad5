"""Actors through their refs: replies, errors, mailbox back-pressure, stopped actors."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from mlc.runtime import (
    Actor,
    ActorRef,
    ActorStopped,
    MailboxStatistics,
    RestartPolicy,
    Supervisor,
)

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def running(supervisor: Supervisor) -> AsyncIterator[None]:
    """Run ``supervisor`` around the block, stop it after; fail after 10 s instead of hanging."""
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(supervisor.run)
            yield
            supervisor.request_stop()


class Counter(Actor[str]):
    """Counts ``inc``; answers ``get``; ``bad`` fails; ``boom`` fails too (for tells)."""

    def __init__(self, log: list[Any]) -> None:
        self.count = 0
        self.log = log

    async def receive(self, msg: str) -> Any:
        if msg == "inc":
            self.count += 1
            return self.count
        if msg == "get":
            return self.count
        if msg in ("bad", "boom"):
            raise ValueError(f"cannot handle {msg}")
        raise KeyError(msg)

    async def on_stop(self) -> None:
        self.log.append(("stop", self.count))

    async def on_failure(self, error: Exception) -> None:
        self.log.append(("failure", str(error)))


def counter_supervisor(clock: Any, log: list[Any]) -> tuple[Supervisor, ActorRef[str], list[Any]]:
    built: list[Counter] = []

    def build() -> Counter:
        built.append(Counter(log))
        return built[-1]

    supervisor = Supervisor(
        clock=clock,
        restart_policy=RestartPolicy(initial_delay=1.0, jitter=0.0),
        rng=random.Random(1),
    )
    return supervisor, supervisor.add("counter", build), built


async def test_ask_returns_the_handlers_value(clock: Any) -> None:
    supervisor, ref, _ = counter_supervisor(clock, [])
    async with running(supervisor):
        assert await ref.ask("inc") == 1
        assert await ref.ask("inc") == 2
        assert await ref.ask("get") == 2


async def test_ask_reraises_the_handlers_exception_and_the_actor_keeps_running(
    clock: Any,
) -> None:
    log: list[Any] = []
    supervisor, ref, built = counter_supervisor(clock, log)
    async with running(supervisor):
        await ref.ask("inc")
        with pytest.raises(ValueError, match="cannot handle bad") as info:
            await ref.ask("bad")
        assert "raised by actor 'counter' handling str" in info.value.__notes__
        with pytest.raises(KeyError):
            await ref.ask("unknown")
        assert await ref.ask("get") == 1
        assert len(built) == 1
        assert supervisor.restart_counts() == {"counter": 0}
    assert log == [("stop", 1)]


async def test_a_failing_tell_crashes_the_actor_and_a_fresh_instance_takes_over(
    clock: Any, wait_until: Any
) -> None:
    log: list[Any] = []
    supervisor, ref, built = counter_supervisor(clock, log)
    async with running(supervisor):
        await ref.tell("inc")
        await ref.tell("inc")
        assert await ref.ask("get") == 2
        await ref.tell("boom")
        await wait_until(lambda: clock.sleepers == 1)
        assert log == [("failure", "cannot handle boom")]
        await clock.advance(1.0)
        assert await ref.ask("get") == 0
        assert len(built) == 2
        assert supervisor.restart_counts() == {"counter": 1}
    assert log == [("failure", "cannot handle boom"), ("stop", 0)]


async def test_ask_and_tell_to_a_stopped_actor_raise_actor_stopped(clock: Any) -> None:
    supervisor, ref, _ = counter_supervisor(clock, [])
    async with running(supervisor):
        assert not ref.stopped
    assert bool(ref.stopped) is True
    with pytest.raises(ActorStopped, match="actor 'counter' is stopped; cannot accept str") as info:
        await ref.ask("get")
    assert info.value.actor == "counter"
    with pytest.raises(ActorStopped, match="'counter'"):
        await ref.tell("inc")
    with pytest.raises(ActorStopped, match="'counter'"):
        ref.tell_nowait("inc")


class Gated(Actor[str]):
    """Handles each message only once ``gate`` is set; records what it handled."""

    def __init__(self, gate: anyio.Event, entered: anyio.Event, handled: list[str]) -> None:
        self.gate = gate
        self.entered = entered
        self.handled = handled

    async def receive(self, msg: str) -> str:
        self.entered.set()
        await self.gate.wait()
        self.handled.append(msg)
        return msg


async def test_a_full_mailbox_makes_tell_wait_until_the_actor_takes_a_message(
    clock: Any, wait_until: Any
) -> None:
    gate, entered = anyio.Event(), anyio.Event()
    handled: list[str] = []
    supervisor = Supervisor(clock=clock)
    ref = supervisor.add("gated", lambda: Gated(gate, entered, handled), mailbox_size=1)
    third_sent = anyio.Event()

    async def send_third() -> None:
        await ref.tell("c")
        third_sent.set()

    async with running(supervisor), anyio.create_task_group() as senders:
        await ref.tell("a")
        with anyio.fail_after(5):
            await entered.wait()
        await ref.tell("b")
        assert ref.mailbox_statistics() == MailboxStatistics(
            depth=1, max_size=1, tasks_waiting_send=0
        )

        senders.start_soon(send_third)
        await wait_until(lambda: ref.mailbox_statistics().tasks_waiting_send == 1)
        assert not third_sent.is_set()
        assert supervisor.mailbox_statistics()["gated"] == MailboxStatistics(1, 1, 1)
        with pytest.raises(anyio.WouldBlock):
            ref.tell_nowait("d")

        gate.set()
        with anyio.fail_after(5):
            await third_sent.wait()
        await wait_until(lambda: handled == ["a", "b", "c"])
        assert ref.mailbox_statistics() == MailboxStatistics(0, 1, 0)


def test_a_negative_mailbox_size_is_refused_with_the_actor_name(clock: Any) -> None:
    supervisor = Supervisor(clock=clock)
    with pytest.raises(ValueError, match="mailbox_size of actor 'x' must be an int >= 0, got -1"):
        supervisor.add("x", lambda: Counter([]), mailbox_size=-1)


def test_an_actor_not_yet_attached_says_so() -> None:
    with pytest.raises(RuntimeError, match="Counter is not attached"):
        _ = Counter([]).name
