"""The supervisor over real actors and a ManualClock: start order, restarts, escalation, drain."""

from __future__ import annotations

import itertools
import random
from typing import Any

import anyio
import pytest

from mlc.runtime import (
    Actor,
    ActorStopped,
    RestartPolicy,
    Supervisor,
    SupervisorEscalation,
)

pytestmark = pytest.mark.anyio


class Flaky(Actor[str]):
    """Raises on ``boom``; otherwise answers with its incarnation number and the message."""

    def __init__(self, incarnation: int) -> None:
        self.incarnation = incarnation

    async def receive(self, msg: str) -> str:
        if msg == "boom":
            raise RuntimeError(f"boom in incarnation {self.incarnation}")
        return f"{self.incarnation}:{msg}"


class Incarnations:
    """A factory that numbers the instances it builds."""

    def __init__(self) -> None:
        self.built = 0

    def __call__(self) -> Flaky:
        self.built += 1
        return Flaky(self.built)


async def advance_backoffs(clock: Any, wait_until: Any) -> None:
    """Forever: wait for the next sleep to be requested, then let exactly that much time pass."""
    for advanced in itertools.count():
        await wait_until(lambda n=advanced: len(clock.requested) > n)
        await clock.advance(clock.requested[advanced])


async def test_actors_start_in_order_and_started_means_every_on_start_completed(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    events: list[str] = []
    gates = {"store": anyio.Event(), "poller": anyio.Event()}

    class Step(Actor[str]):
        async def on_start(self) -> None:
            events.append(f"{self.name} starting")
            await gates[self.name].wait()
            events.append(f"{self.name} ready")

        async def receive(self, msg: str) -> str:
            return msg

        async def on_stop(self) -> None:
            events.append(f"{self.name} stopped")

    supervisor = Supervisor(clock=clock)
    supervisor.add("store", Step)
    supervisor.add("poller", Step)
    started = anyio.Event()

    async with task_group() as tg:

        async def start() -> None:
            await tg.start(supervisor.run)
            started.set()

        tg.start_soon(start)
        await wait_until(lambda: events == ["store starting"])
        await anyio.wait_all_tasks_blocked()
        assert events == ["store starting"]
        gates["store"].set()
        await wait_until(lambda: events[-1] == "poller starting")
        assert not started.is_set()
        assert supervisor.ready is False
        gates["poller"].set()
        with anyio.fail_after(5):
            await started.wait()
        assert bool(supervisor.ready) is True
        supervisor.request_stop()
    assert supervisor.mailbox_statistics()["store"] == (0, 64, 0)
    assert bool(supervisor.ready) is False
    assert events == [
        "store starting",
        "store ready",
        "poller starting",
        "poller ready",
        "poller stopped",
        "store stopped",
    ]


async def test_a_crashing_actor_is_restarted_with_growing_delays(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    policy = RestartPolicy(
        initial_delay=1.0, max_delay=100.0, multiplier=2.0, jitter=0.1, max_restarts=10, window=600
    )
    supervisor = Supervisor(clock=clock, restart_policy=policy, rng=random.Random(42))
    factory = Incarnations()
    ref = supervisor.add("flaky", factory)

    async with task_group() as tg:
        await tg.start(supervisor.run)
        for restarts in range(1, 5):
            await ref.tell("boom")
            await wait_until(lambda: clock.sleepers == 1)
            await clock.advance(clock.requested[-1])
            await wait_until(lambda n=restarts: supervisor.restart_counts()["flaky"] == n)
        delays = list(clock.requested)
        assert await ref.ask("hello") == "5:hello"
        supervisor.request_stop()

    fractions = random.Random(42)
    assert delays == [base * (1 + 0.1 * fractions.random()) for base in (1.0, 2.0, 4.0, 8.0)]
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    assert factory.built == 5


async def test_delays_are_capped_by_max_delay(clock: Any, wait_until: Any, task_group: Any) -> None:
    policy = RestartPolicy(initial_delay=1.0, max_delay=3.0, jitter=0.0, max_restarts=10)
    supervisor = Supervisor(clock=clock, restart_policy=policy)
    ref = supervisor.add("flaky", Incarnations())

    async with task_group() as tg:
        await tg.start(supervisor.run)
        for restarts in range(1, 5):
            await ref.tell("boom")
            await wait_until(lambda: clock.sleepers == 1)
            await clock.advance(clock.requested[-1])
            await wait_until(lambda n=restarts: supervisor.restart_counts()["flaky"] == n)
        supervisor.request_stop()
    assert clock.requested[:4] == [1.0, 2.0, 3.0, 3.0]


async def test_messages_sent_during_backoff_wait_in_the_same_mailbox_for_the_next_instance(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    supervisor = Supervisor(clock=clock, restart_policy=RestartPolicy(initial_delay=5.0))
    ref = supervisor.add("flaky", Incarnations())
    answers: list[str] = []

    async with task_group() as tg:
        await tg.start(supervisor.run)
        await ref.tell("boom")
        await wait_until(lambda: clock.sleepers == 1)

        async def ask() -> None:
            answers.append(await ref.ask("queued"))

        tg.start_soon(ask)
        await wait_until(lambda: ref.mailbox_statistics().depth == 1)
        assert answers == []
        await clock.advance(clock.requested[-1])
        await wait_until(lambda: answers == ["2:queued"])
        supervisor.request_stop()


async def test_a_crash_loop_escalates_out_of_run_and_stops_the_other_actors(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    stopped: list[str] = []

    class Healthy(Actor[str]):
        async def receive(self, msg: str) -> str:
            return msg

        async def on_stop(self) -> None:
            stopped.append(self.name)

    policy = RestartPolicy(initial_delay=1.0, jitter=0.0, max_restarts=2, window=60)
    supervisor = Supervisor(clock=clock, restart_policy=policy)
    healthy = supervisor.add("healthy", Healthy)
    flaky = supervisor.add("flaky", Incarnations())

    async def crash_three_times() -> None:
        for restarts in (1, 2):
            await flaky.tell("boom")
            await wait_until(lambda: clock.sleepers == 1)
            await clock.advance(clock.requested[-1])
            await wait_until(lambda n=restarts: supervisor.restart_counts()["flaky"] == n)
        await flaky.tell("boom")

    async with task_group() as tg:
        tg.start_soon(crash_three_times)
        with anyio.fail_after(5), pytest.raises(SupervisorEscalation) as info:
            await supervisor.run()

    assert str(info.value) == (
        "actor 'flaky' crashed 3 times within 60s; giving up: RuntimeError: boom in incarnation 3"
    )
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.exit_code == 1
    assert supervisor.restart_counts() == {"healthy": 0, "flaky": 2}
    assert stopped == ["healthy"]
    assert healthy.stopped
    assert flaky.stopped


async def test_an_actor_that_never_starts_escalates_out_of_task_group_start(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    class Unstartable(Actor[str]):
        async def on_start(self) -> None:
            raise OSError("store file is locked")

        async def receive(self, msg: str) -> str:
            return msg

    policy = RestartPolicy(initial_delay=1.0, jitter=0.0, max_restarts=3, window=60)
    supervisor = Supervisor(clock=clock, restart_policy=policy)
    supervisor.add("store", Unstartable)

    async with task_group() as tg:
        tg.start_soon(advance_backoffs, clock, wait_until)
        with anyio.fail_after(5), pytest.raises(SupervisorEscalation, match="'store' crashed 4"):
            await tg.start(supervisor.run)
        tg.cancel_scope.cancel()
    assert clock.requested == [1.0, 2.0, 4.0]
    assert not supervisor.ready


async def test_crashes_older_than_the_window_no_longer_count(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    policy = RestartPolicy(initial_delay=1.0, jitter=0.0, max_restarts=1, window=10)
    supervisor = Supervisor(clock=clock, restart_policy=policy)
    ref = supervisor.add("flaky", Incarnations())

    async with task_group() as tg:
        await tg.start(supervisor.run)
        for restarts in (1, 2):
            await ref.tell("boom")
            await wait_until(lambda: clock.sleepers == 1)
            await clock.advance(clock.requested[-1])
            await wait_until(lambda n=restarts: supervisor.restart_counts()["flaky"] == n)
            await clock.advance(10.0)
        assert await ref.ask("x") == "3:x"
        supervisor.request_stop()
    assert clock.requested[:2] == [1.0, 1.0]


async def test_stop_lets_the_current_message_finish_and_fails_every_pending_ask(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    gate, entered = anyio.Event(), anyio.Event()

    class Slow(Actor[str]):
        async def receive(self, msg: str) -> str:
            entered.set()
            await gate.wait()
            return f"done {msg}"

    supervisor = Supervisor(clock=clock)
    ref = supervisor.add("slow", Slow)
    outcomes: dict[str, object] = {}

    async def ask(msg: str) -> None:
        try:
            outcomes[msg] = await ref.ask(msg)
        except ActorStopped as error:
            outcomes[msg] = error

    async with task_group() as tg:
        await tg.start(supervisor.run)
        tg.start_soon(ask, "current")
        with anyio.fail_after(5):
            await entered.wait()
        tg.start_soon(ask, "queued-1")
        tg.start_soon(ask, "queued-2")
        await wait_until(lambda: ref.mailbox_statistics().depth == 2)

        supervisor.request_stop()
        await wait_until(lambda: ref.stopped)
        assert supervisor.draining
        with pytest.raises(ActorStopped, match="'slow' is stopped"):
            await ref.ask("late")
        assert outcomes == {}
        gate.set()

    assert outcomes["current"] == "done current"
    for msg in ("queued-1", "queued-2"):
        error = outcomes[msg]
        assert isinstance(error, ActorStopped)
        assert str(error) == "actor 'slow' stopped before handling str"


async def test_stop_with_a_stuck_handler_completes_at_the_deadline(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    entered = anyio.Event()

    class Stuck(Actor[str]):
        async def receive(self, msg: str) -> str:
            entered.set()
            await anyio.sleep_forever()
            return msg

    supervisor = Supervisor(clock=clock, shutdown_timeout=7.0)
    ref = supervisor.add("stuck", Stuck)
    outcome: list[BaseException] = []
    run_returned = anyio.Event()

    async def run() -> None:
        await supervisor.run()
        run_returned.set()

    async def ask() -> None:
        try:
            await ref.ask("work")
        except ActorStopped as error:
            outcome.append(error)

    async with task_group() as tg:
        tg.start_soon(run)
        tg.start_soon(ask)
        with anyio.fail_after(5):
            await entered.wait()
        supervisor.request_stop()
        await wait_until(lambda: clock.sleepers == 1)
        assert clock.requested == [7.0]
        await anyio.wait_all_tasks_blocked()
        assert not run_returned.is_set()
        await clock.advance(7.0)
        with anyio.fail_after(5):
            await run_returned.wait()

    assert len(outcome) == 1
    assert str(outcome[0]) == "actor 'stuck' stopped while handling str"


async def test_stop_during_backoff_does_not_wait_for_the_backoff(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    supervisor = Supervisor(clock=clock, restart_policy=RestartPolicy(initial_delay=30.0))
    factory = Incarnations()
    ref = supervisor.add("flaky", factory)

    async with task_group() as tg:
        await tg.start(supervisor.run)
        await ref.tell("boom")
        await wait_until(lambda: clock.sleepers == 1)
        supervisor.request_stop()
    assert factory.built == 1
    assert supervisor.restart_counts() == {"flaky": 0}


async def test_stop_during_start_up_interrupts_it_and_fails_asks_to_actors_never_started(
    clock: Any, wait_until: Any, task_group: Any
) -> None:
    class Unstartable(Actor[str]):
        async def on_start(self) -> None:
            raise OSError("store file is locked")

        async def receive(self, msg: str) -> str:
            return msg

    supervisor = Supervisor(clock=clock, restart_policy=RestartPolicy(initial_delay=30.0))
    supervisor.add("store", Unstartable)
    later = supervisor.add("poller", Incarnations())
    outcome: list[BaseException] = []

    async def ask_later() -> None:
        try:
            await later.ask("queued before start")
        except ActorStopped as error:
            outcome.append(error)

    async with task_group() as tg:
        tg.start_soon(ask_later)
        await wait_until(lambda: later.mailbox_statistics().depth == 1)

        async def stop_once_backing_off() -> None:
            await wait_until(lambda: clock.sleepers == 1)
            supervisor.request_stop()

        tg.start_soon(stop_once_backing_off)
        with anyio.fail_after(5):
            await tg.start(supervisor.run)

    assert [str(error) for error in outcome] == ["actor 'poller' stopped before handling str"]
    assert supervisor.restart_counts() == {"store": 0, "poller": 0}
    assert not supervisor.ready


def test_restart_policy_names_every_bad_field() -> None:
    with pytest.raises(ValueError) as info:
        RestartPolicy(initial_delay=5.0, max_delay=1.0, multiplier=0.5, jitter=2.0, window=0)
    assert str(info.value) == (
        "RestartPolicy: max_delay must be >= initial_delay (5.0), got 1.0; "
        "multiplier must be >= 1, got 0.5; jitter must be between 0 and 1, got 2.0; "
        "window must be > 0, got 0"
    )


def test_actor_names_are_unique(clock: Any) -> None:
    supervisor = Supervisor(clock=clock)
    supervisor.add("a", lambda: Incarnations()())
    with pytest.raises(ValueError, match="an actor named 'a' is already supervised"):
        supervisor.add("a", lambda: Incarnations()())
