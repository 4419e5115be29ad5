"""The schedule driver on a ManualClock: close-calendar fire times across DST and holidays,
signals, stored triggers and what is owed at start."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import anyio
import pytest

from actors.schedule_driver import ScheduleDriver
from actors.scheduler import Scheduler
from mlc.config import FlowConfig
from mlc.messages import (
    FlowRunnerMessage,
    GetRunQueue,
    RunFinished,
    RunFlow,
    RunQueue,
    RunTally,
    SchedulerMessage,
)
from mlc.runtime import Actor, ActorRef, ManualClock, Supervisor
from mlc.store import RunCounts, Store
from tests.service.conftest import config_from, wait_for

pytestmark = pytest.mark.anyio

UTC = dt.UTC

CLOSE = """
[flows.gl-actuals]
kind = "gl-actuals"
source = "epicor.main"
target = "anaplan.fpa"

[[flows.gl-actuals.schedule]]
business_day_after_period_end = 1
at = "06:00"
timezone = "Europe/Berlin"
holidays = ["2026-04-03", "2026-04-06"]

[[flows.gl-actuals.schedule]]
business_day_after_period_end = 3
at = "06:00"
timezone = "Europe/Berlin"
holidays = ["2026-04-03", "2026-04-06"]

[flows.nightly]
kind = "ap-spend"
source = "epicor.main"
target = "anaplan.fpa"
schedule = [{ cron = "30 2 * * *", timezone = "Europe/Berlin" }]

[flows.budget-to-gl]
kind = "budget-to-gl"
source = "anaplan.fpa"
target = "epicor.main"
schedule = [{ dates = ["2026-03-03"], at = "18:00", timezone = "Europe/Berlin" }]

[flows.off]
kind = "gl-actuals"
source = "epicor.main"
target = "anaplan.fpa"
enabled = false
schedule = [{ cron = "* * * * *" }]
"""


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dt.datetime]] = []
        self.clock: ManualClock | None = None

    async def __call__(self, flow: str, trigger: str) -> None:
        assert self.clock is not None
        self.requests.append((flow, trigger, dt.datetime.fromtimestamp(self.clock.time(), UTC)))


def _driver(
    tmp_path: Path, store: Store, start: dt.datetime
) -> tuple[ScheduleDriver, Recorder, ManualClock]:
    clock = ManualClock(start.timestamp())
    recorder = Recorder()
    recorder.clock = clock
    config = config_from(tmp_path, CLOSE)
    return ScheduleDriver(config.flows, store, clock, recorder), recorder, clock


async def _advance_to(clock: ManualClock, instant: dt.datetime) -> None:
    await clock.advance(instant.timestamp() - clock.time())
    await wait_for(lambda: clock.sleepers == 1)


async def test_close_calendar_fires_on_business_days_across_dst_and_holidays(
    tmp_path: Path, store: Store
) -> None:
    driver, recorder, clock = _driver(tmp_path, store, at("2026-02-27T00:00:00"))
    # Hand-computed (Berlin, CET = UTC+1 until 2026-03-29, CEST = UTC+2 after):
    # Feb ends Sat 28th: BD1 Mon 2 Mar, BD3 Wed 4 Mar, 06:00 CET = 05:00Z.
    # Mar ends Tue 31st: BD1 Wed 1 Apr; Good Friday 3 Apr and Easter Monday 6 Apr are holidays,
    # so BD3 is Tue 7 Apr; 06:00 CEST = 04:00Z.
    expected = [
        at("2026-03-02T05:00:00"),
        at("2026-03-04T05:00:00"),
        at("2026-04-01T04:00:00"),
        at("2026-04-07T04:00:00"),
    ]
    assert driver.calendar.next_fire_times("gl-actuals", 4) == expected
    assert driver.calendar.next_fire_times("off", 1) == []
    async with anyio.create_task_group() as tg:
        await tg.start(driver.run)
        for instant in expected:
            await _advance_to(clock, instant - dt.timedelta(seconds=1))
            assert [r for r in recorder.requests if r[0] == "gl-actuals" and r[2] >= instant] == []
            await _advance_to(clock, instant)
            last = [r for r in recorder.requests if r[0] == "gl-actuals"][-1]
            assert last == ("gl-actuals", "schedule", instant)
        driver.stop()
    fired = [r[2] for r in recorder.requests if r[0] == "gl-actuals"]
    assert fired == expected
    budget = [r for r in recorder.requests if r[0] == "budget-to-gl"]
    assert budget == [("budget-to-gl", "schedule", at("2026-03-03T17:00:00"))]
    assert all(r[0] != "off" for r in recorder.requests)


async def test_cron_neither_skips_nor_doubles_across_dst(tmp_path: Path, store: Store) -> None:
    # 02:30 Berlin does not exist on 29 Mar (fires at 03:00 CEST = 01:00Z) and happens twice on
    # 25 Oct (fires once, at the first 02:30 CEST = 00:30Z).
    spring = ["2026-03-28T01:30:00", "2026-03-29T01:00:00", "2026-03-30T00:30:00"]
    autumn = ["2026-10-24T00:30:00", "2026-10-25T00:30:00", "2026-10-26T01:30:00"]
    for start, expected in (("2026-03-27T12:00:00", spring), ("2026-10-23T12:00:00", autumn)):
        driver, recorder, clock = _driver(tmp_path, store, at(start))
        async with anyio.create_task_group() as tg:
            await tg.start(driver.run)
            for _ in range(3 * 24 * 4):  # three days in 15-minute steps
                await _advance_to(clock, dt.datetime.fromtimestamp(clock.time() + 900, UTC))
            driver.stop()
        fired = [r[2] for r in recorder.requests if r[0] == "nightly"]
        assert fired == [at(t) for t in expected]


async def test_a_stalled_process_runs_a_flow_once_not_once_per_missed_fire(
    tmp_path: Path, store: Store
) -> None:
    driver, _, _ = _driver(tmp_path, store, at("2026-03-27T12:00:00"))
    # The loop was blocked across four nightly fire times (a paused VM, a long GC):
    assert driver.calendar.take_due(at("2026-03-31T12:00:00")) == ["nightly"]
    assert driver.calendar.next_fire("nightly") == at("2026-04-01T00:30:00")
    assert driver.calendar.take_due(at("2026-03-31T12:00:00")) == []


async def test_reload_keeps_unchanged_flows_and_reschedules_changed_ones(
    tmp_path: Path, store: Store
) -> None:
    driver, _, _ = _driver(tmp_path, store, at("2026-03-02T04:00:00"))
    before = driver.calendar.next_fire("gl-actuals")
    changed = CLOSE.replace('cron = "30 2 * * *"', 'cron = "0 12 * * *"')
    (tmp_path / "next").mkdir()
    driver.reload(config_from(tmp_path / "next", changed).flows)
    assert driver.calendar.next_fire("gl-actuals") == before
    assert driver.calendar.next_fire("nightly") == at("2026-03-02T11:00:00")


async def test_sigusr1_runs_stored_triggers_else_inbound_flows(
    tmp_path: Path, store: Store
) -> None:
    driver, recorder, clock = _driver(tmp_path, store, at("2026-03-02T04:00:00"))
    await store.add_trigger("budget-to-gl", "mlc trigger")
    await store.add_trigger("budget-to-gl", "mlc trigger")
    await store.add_trigger("off", "mlc trigger")
    await store.add_trigger("gone", "mlc trigger")

    assert await driver.on_run_signal() == ["budget-to-gl"]
    assert await store.pending_triggers() == []
    assert [r[:2] for r in recorder.requests] == [("budget-to-gl", "manual")]

    # The echo of a second `mlc trigger` whose row the first signal already took.
    assert await driver.on_run_signal() == []
    await clock.advance(10)
    assert await driver.on_run_signal() == ["gl-actuals", "nightly"]
    signalled = [r[:2] for r in recorder.requests[1:]]
    assert signalled == [("gl-actuals", "signal"), ("nightly", "signal")]

    assert await driver.on_outbound_signal() == ["budget-to-gl"]

    driver.stop()
    await store.add_trigger("gl-actuals", "mlc trigger")
    assert await driver.on_run_signal() == []
    assert len(await store.pending_triggers()) == 1  # kept for the next start


async def test_start_up_resumes_cut_short_runs_takes_triggers_and_runs_missed_once(
    tmp_path: Path, store: Store
) -> None:
    driver, recorder, _ = _driver(tmp_path, store, at("2026-03-05T12:00:00"))
    # gl-actuals last ran before BD1 and BD3 of February: both missed, one run owed.
    old = await store.create_run("gl-actuals", "schedule")
    await store.finish_run(old.id, "succeeded", RunCounts())
    # nightly's last run was cut short by a shutdown.
    cut = await store.create_run("nightly", "schedule")
    await store.finish_run(cut.id, "cancelled", RunCounts())
    await store.add_trigger("budget-to-gl", "mlc trigger")
    # The runs above were stamped by the store's own clock (its start, 2026-01-01): before both.

    made = await driver.start_up(run_missed=True)

    assert made == [("nightly", "resume"), ("budget-to-gl", "manual"), ("gl-actuals", "missed")]
    assert await store.pending_triggers() == []

    recorder.requests.clear()
    assert await driver.start_up(run_missed=False) == [("nightly", "resume")]


class Runner(Actor[FlowRunnerMessage]):
    """Stands in for the FlowRunner: records what it is handed, finishes when released."""

    def __init__(
        self,
        clock: ManualClock,
        scheduler: list[ActorRef[SchedulerMessage]],
        executed: list[tuple[str, str, dt.datetime]],
        gate: anyio.Event | None = None,
    ) -> None:
        self._clock = clock
        self._scheduler = scheduler
        self._executed = executed
        self._gate = gate

    async def receive(self, msg: FlowRunnerMessage) -> None:
        now = self._clock.time()
        self._executed.append((msg.flow, msg.trigger, dt.datetime.fromtimestamp(now, UTC)))
        if self._gate is not None:
            await self._gate.wait()
        await self._scheduler[0].tell(
            RunFinished(
                ticket=msg.ticket,
                flow=msg.flow,
                trigger=msg.trigger,
                run_id=None,
                status="succeeded",
                tally=RunTally(),
                started_at=now,
                finished_at=now,
            )
        )


def _scheduler_tree(
    clock: ManualClock,
    flows: Mapping[str, FlowConfig],
    executed: list[tuple[str, str, dt.datetime]],
    gate: anyio.Event | None = None,
) -> tuple[Supervisor, ActorRef[SchedulerMessage]]:
    supervisor = Supervisor(clock=clock)
    box: list[ActorRef[SchedulerMessage]] = []
    runner = supervisor.add("flow-runner", lambda: Runner(clock, box, executed, gate))
    scheduler: ActorRef[SchedulerMessage] = supervisor.add(
        "scheduler",
        lambda: Scheduler(flows=flows, runner=runner, clock=clock, announce=lambda _: None),
    )
    box.append(scheduler)
    return supervisor, scheduler


async def test_the_scheduler_actor_runs_flows_at_the_close_calendar_times(
    tmp_path: Path, store: Store
) -> None:
    clock = ManualClock(at("2026-02-27T00:00:00").timestamp())
    flows = {
        name: flow
        for name, flow in config_from(tmp_path, CLOSE).flows.items()
        if name in ("gl-actuals", "budget-to-gl")
    }
    executed: list[tuple[str, str, dt.datetime]] = []
    supervisor, scheduler = _scheduler_tree(clock, flows, executed)

    async def submit(flow: str, trigger: str) -> None:
        await scheduler.ask(RunFlow(flow=flow, trigger=trigger))

    driver = ScheduleDriver(flows, store, clock, submit)
    expected = [
        ("gl-actuals", at("2026-03-02T05:00:00")),  # BD1 after Sat 28 Feb, CET
        ("budget-to-gl", at("2026-03-03T17:00:00")),  # the approval date, 18:00 CET
        ("gl-actuals", at("2026-03-04T05:00:00")),  # BD3
        ("gl-actuals", at("2026-04-01T04:00:00")),  # BD1 after Tue 31 Mar, CEST
        ("gl-actuals", at("2026-04-07T04:00:00")),  # BD3: Good Friday and Easter Monday skipped
    ]
    async with anyio.create_task_group() as tg:
        await tg.start(supervisor.run)
        await tg.start(driver.run)
        for count, (flow, instant) in enumerate(expected, start=1):
            await _advance_to(clock, instant - dt.timedelta(seconds=1))
            assert len(executed) == count - 1
            await _advance_to(clock, instant)
            await wait_for(lambda: len(executed) == count)  # noqa: B023
            assert executed[-1] == (flow, "schedule", instant)
        await _advance_to(clock, at("2026-04-30T00:00:00"))
        driver.stop()
        supervisor.request_stop()
    assert len(executed) == len(expected)


async def test_signals_during_a_run_leave_one_pending_run_per_flow(
    tmp_path: Path, store: Store
) -> None:
    clock = ManualClock(at("2026-03-02T12:00:00").timestamp())
    flows = config_from(tmp_path, CLOSE).flows
    executed: list[tuple[str, str, dt.datetime]] = []
    gate = anyio.Event()
    supervisor, scheduler = _scheduler_tree(clock, flows, executed, gate)

    async def submit(flow: str, trigger: str) -> None:
        await scheduler.ask(RunFlow(flow=flow, trigger=trigger))

    driver = ScheduleDriver(flows, store, clock, submit)
    async with anyio.create_task_group() as tg:
        await tg.start(supervisor.run)
        await driver.on_run_signal()
        await wait_for(lambda: len(executed) == 1)
        for _ in range(5):
            await driver.on_run_signal()
        queue: RunQueue = await scheduler.ask(GetRunQueue())
        assert queue.running is not None and queue.running.flow == "gl-actuals"
        assert sorted(t.flow for t in queue.pending) == ["gl-actuals", "nightly"]
        gate.set()
        with anyio.fail_after(10):
            while (queue := await scheduler.ask(GetRunQueue())).running or queue.pending:
                await anyio.lowlevel.checkpoint()
        assert len(executed) == 3
        supervisor.request_stop()
    # nightly was already waiting behind the first run; the five signals added one gl-actuals.
    assert [flow for flow, _, _ in executed] == ["gl-actuals", "nightly", "gl-actuals"]
