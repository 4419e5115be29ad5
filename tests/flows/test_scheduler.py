"""The Scheduler's queue: one pending run per flow, coa-align first, refusals, hand-over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import msgspec
import pytest
from anyio.streams.memory import MemoryObjectSendStream

from actors.scheduler import Scheduler, run_order
from mlc.config import FlowConfig
from mlc.errors import UsageError
from mlc.messages import (
    ExecuteRun,
    FlowRunnerMessage,
    GetRunQueue,
    RunFinished,
    RunFlow,
    RunQueue,
    RunQueued,
    RunTally,
    SchedulerMessage,
)
from mlc.runtime import Actor, ActorRef, ManualClock, Supervisor

pytestmark = pytest.mark.anyio


def flow(kind: str, enabled: bool = True) -> FlowConfig:
    return msgspec.convert(
        {"kind": kind, "source": "epicor.main", "target": "anaplan.fpa", "enabled": enabled},
        FlowConfig,
    )


FLOWS = {
    "gl-actuals": flow("gl-actuals"),
    "ap-spend": flow("ap-spend"),
    "coa-align": flow("coa-align"),
    "off": flow("gl-actuals", enabled=False),
}


class Runner(Actor[FlowRunnerMessage]):
    """Records what it is handed; the test finishes runs by telling the Scheduler."""

    def __init__(
        self, started: list[ExecuteRun], arrived: MemoryObjectSendStream[ExecuteRun]
    ) -> None:
        self.started = started
        self.arrived = arrived

    async def receive(self, msg: FlowRunnerMessage) -> Any:
        self.started.append(msg)
        await self.arrived.send(msg)


class Harness:
    def __init__(self) -> None:
        self.started: list[ExecuteRun] = []
        self.finished: list[RunFinished] = []
        self.send, self.arrivals = anyio.create_memory_object_stream[ExecuteRun](100)
        self.supervisor = Supervisor(clock=ManualClock())
        self.runner = self.supervisor.add("runner", lambda: Runner(self.started, self.send))
        self.scheduler: ActorRef[SchedulerMessage] = self.supervisor.add(
            "scheduler",
            lambda: Scheduler(
                flows=FLOWS, runner=self.runner, clock=ManualClock(), announce=self.finished.append
            ),
        )

    async def ask(self, name: str, trigger: str = "manual", full: bool = False) -> RunQueued:
        queued: RunQueued = await self.scheduler.ask(RunFlow(flow=name, trigger=trigger, full=full))
        return queued

    async def next_start(self) -> ExecuteRun:
        with anyio.fail_after(5):
            return await self.arrivals.receive()

    async def finish(self, run: ExecuteRun, status: str = "succeeded") -> None:
        await self.scheduler.tell(
            RunFinished(ticket=run.ticket, flow=run.flow, trigger=run.trigger, run_id=1,
                        status=status, tally=RunTally(), started_at=0.0, finished_at=1.0)
        )  # fmt: skip


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    async with anyio.create_task_group() as tg:
        await tg.start(h.supervisor.run)
        yield h
        h.supervisor.request_stop()


async def test_requests_during_a_run_leave_one_pending_run(harness: Harness) -> None:
    first = await harness.ask("gl-actuals")
    running = await harness.next_start()
    assert (running.ticket, running.flow) == (first.ticket, "gl-actuals")
    second = await harness.ask("gl-actuals", trigger="signal")
    third = await harness.ask("gl-actuals", trigger="schedule", full=True)
    assert not second.coalesced and second.ticket != first.ticket
    assert third.coalesced and third.ticket == second.ticket
    queue: RunQueue = await harness.scheduler.ask(GetRunQueue())
    assert queue.running is not None and queue.running.ticket == first.ticket
    assert [(t.ticket, t.full) for t in queue.pending] == [(second.ticket, True)]

    await harness.finish(running)
    pending = await harness.next_start()
    assert (pending.ticket, pending.full, pending.trigger) == (second.ticket, True, "signal")
    assert [r.ticket for r in harness.finished] == [first.ticket]
    assert len(harness.started) == 2


async def test_coa_align_goes_ahead_of_waiting_value_flows(harness: Harness) -> None:
    running = await harness.ask("ap-spend")
    started = await harness.next_start()
    await harness.ask("gl-actuals")
    await harness.ask("ap-spend")
    await harness.ask("coa-align")
    queue: RunQueue = await harness.scheduler.ask(GetRunQueue())
    assert [t.flow for t in queue.pending] == ["coa-align", "gl-actuals", "ap-spend"]
    assert started.ticket == running.ticket
    order = []
    await harness.finish(started)
    for _ in range(3):
        run = await harness.next_start()
        order.append(run.flow)
        await harness.finish(run)
    assert order == ["coa-align", "gl-actuals", "ap-spend"]


async def test_unknown_and_disabled_flows_are_refused(harness: Harness) -> None:
    with pytest.raises(UsageError, match="unknown flow 'nope'"):
        await harness.ask("nope")
    with pytest.raises(UsageError, match=r"flow 'off' is disabled \(flows.off.enabled = false\)"):
        await harness.ask("off")
    assert harness.started == []


def test_run_order_puts_reference_data_first_and_drops_duplicates() -> None:
    assert run_order(FLOWS, ["gl-actuals", "coa-align", "gl-actuals"]) == [
        "coa-align",
        "gl-actuals",
    ]
    with pytest.raises(UsageError, match="unknown flow"):
        run_order(FLOWS, ["x"])
