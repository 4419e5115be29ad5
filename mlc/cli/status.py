"""``mlc status``: each flow's last run, last success, watermark, pending triggers and next runs.

Read-only, from the state database alone (no system is contacted), so it answers even when a
connection is down; ``--json`` prints the same as one JSON object for scripts. Anaplan tasks still
open (started and not seen finished, e.g. after a crash) are listed too: the next run on that
model reattaches to them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

import msgspec

from mlc.cli.audit import when
from mlc.cli.creds import add_config_option

if TYPE_CHECKING:
    from mlc.config import Config
    from mlc.store import Run, RunStatus

COMMITTED: tuple[RunStatus, ...] = ("succeeded", "partial")

HELP = "show each flow's last run, watermark, pending triggers and next scheduled runs"

#: How many upcoming fire times to show per scheduled flow.
NEXT_RUNS = 3


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    import anyio

    from mlc.config import load_config

    config = load_config(args.config)
    report: dict[str, Any] = anyio.run(collect, config, backend="asyncio")
    if args.json:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
    else:
        print_report(report)
    return 0


def next_runs(config: Config, now: dt.datetime) -> dict[str, list[str]]:
    """Each flow's next scheduled fire times (UTC, ISO 8601), from its schedule rules."""
    from mlc.ops.calendar import FlowCalendar

    calendar = FlowCalendar(config.flows, now)
    return {
        name: [t.isoformat() for t in calendar.next_fire_times(name, NEXT_RUNS)]
        for name in config.flows
    }


async def collect(config: Config, now: dt.datetime | None = None) -> dict[str, Any]:
    """The status report as plain data; ``now`` (default: the current time) dates next runs."""
    from mlc.store import Store

    upcoming = next_runs(config, now or dt.datetime.now(dt.UTC))
    flows: dict[str, Any] = {}
    tasks: list[dict[str, Any]] = []
    if not config.service.db_path.exists():
        for name, flow in config.flows.items():
            flows[name] = {
                "kind": flow.kind,
                "enabled": flow.enabled,
                "last_run": None,
                "last_success": None,
                "watermark": None,
                "pending_triggers": 0,
                "next_runs": upcoming[name],
            }
        return {"state": str(config.service.db_path), "flows": flows, "open_anaplan_tasks": tasks}
    async with await Store.open(config.service.db_path) as store:
        watermarks = {w.flow: w.value for w in await store.watermarks()}
        pending: dict[str, int] = {}
        for trigger in await store.pending_triggers():
            pending[trigger.flow] = pending.get(trigger.flow, 0) + 1
        for name, flow in config.flows.items():
            last = await store.list_runs(flow=name, limit=1)
            successes = [
                run
                for status in COMMITTED
                for run in await store.list_runs(flow=name, status=status, limit=1)
            ]
            best = max(successes, key=lambda run: run.id, default=None)
            flows[name] = {
                "kind": flow.kind,
                "enabled": flow.enabled,
                "last_run": _run(last[0]) if last else None,
                "last_success": best.finished_at if best is not None else None,
                "watermark": watermarks.get(name),
                "pending_triggers": pending.get(name, 0),
                "next_runs": upcoming[name],
            }
        tasks.extend(
            {
                "model_id": task.model_id,
                "action_id": task.action_id,
                "task_id": task.task_id,
                "run_id": task.run_id,
                "flow": task.flow,
                "state": task.state,
                "created_at": task.created_at,
            }
            for task in await store.open_anaplan_tasks()
        )
    return {"state": str(config.service.db_path), "flows": flows, "open_anaplan_tasks": tasks}


def _run(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "counts": msgspec.structs.asdict(run.counts),
        "error": run.error,
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"state: {report['state']}")
    print(
        f"{'flow':<16} {'kind':<14} {'on':<3} {'last run':<9} {'status':<11} {'finished':<20} "
        f"{'last success':<20} {'pending':>7}  watermark"
    )
    for name, flow in report["flows"].items():
        last = flow["last_run"]
        print(
            f"{name:<16} {flow['kind']:<14} {'yes' if flow['enabled'] else 'no':<3} "
            f"{(str(last['id']) if last else '-'):<9} {(last['status'] if last else '-'):<11} "
            f"{when(last['finished_at'] if last else None):<20} "
            f"{when(flow['last_success']):<20} {flow['pending_triggers']:>7}  "
            f"{flow['watermark'] or '-'}"
        )
        if last and last["error"]:
            print(f"{'':<16} error: {last['error']}")
        if flow["next_runs"]:
            print(f"{'':<16} next runs: {', '.join(flow['next_runs'])}")
    for task in report["open_anaplan_tasks"]:
        print(
            f"open Anaplan task {task['task_id']} (action {task['action_id']}, run "
            f"{task['run_id']}, {task['state']}): the next action on the model reattaches to it"
        )
