"""The status model behind ``/status`` and ``mlc status``: flows, last runs, next fire times.

Built on demand from the store (runs, quarantined records), the scheduler (what is running or
pending, the next fire times) and the token keepers (connection health). Every string that could
carry text from outside (run errors, record errors, token errors) passes through
:func:`mlc.logs.redact`, so the page never shows a secret even if a caller forgot to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

import msgspec

from mlc import __version__
from mlc.config import Config, FlowConfig
from mlc.logs import redact
from mlc.messages import TokenHealth
from mlc.store import Run, RunCounts, Store

#: How many past runs and quarantined records each flow lists.
LAST_RUNS = 5
QUARANTINED = 20
NEXT_FIRES = 3


class ScheduleView(Protocol):
    """What the status reads of the scheduler."""

    def next_fire_times(self, flow: str, count: int) -> Sequence[dt.datetime]: ...

    def running(self) -> Collection[str]: ...

    def pending(self) -> Mapping[str, str]:
        """Flow → the trigger of its one pending run."""
        ...


class RunSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    trigger: str
    status: str
    started_at: str
    finished_at: str | None
    duration_seconds: float | None
    counts: RunCounts
    error: str | None


class QuarantinedRecord(msgspec.Struct, frozen=True, kw_only=True):
    run_id: int
    record_key: str
    stage: str
    error: str | None


class FlowStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: str
    source: str
    target: str
    enabled: bool
    #: ``idle``, ``running`` or ``disabled``
    state: str
    #: trigger of the pending run, if one is waiting
    pending: str | None
    schedule: list[str]
    next_fire_times: list[str]
    last_success_at: str | None
    last_runs: list[RunSummary]
    #: quarantined records of the latest run that quarantined any
    quarantined: list[QuarantinedRecord]
    quarantined_total: int


class ConnectionStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    status: str
    consecutive_failures: int
    last_error: str | None
    token_expires_at: str | None


class ServiceStatus(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    generated_at: str
    #: ``starting``, ``running`` or ``draining``
    state: str
    started_at: str
    flows: list[FlowStatus]
    connections: list[ConnectionStatus]


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    instant = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return instant.isoformat(timespec="seconds").replace("+00:00", "Z")


def _iso_datetime(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _maybe(text: str | None) -> str | None:
    return None if text is None else redact(text)


def _summary(run: Run) -> RunSummary:
    duration = None if run.finished_at is None else round(run.finished_at - run.started_at, 3)
    return RunSummary(
        id=run.id,
        trigger=run.trigger,
        status=run.status,
        started_at=iso(run.started_at) or "",
        finished_at=iso(run.finished_at),
        duration_seconds=duration,
        counts=run.counts,
        error=_maybe(run.error),
    )


def describe_rules(flow: FlowConfig) -> list[str]:
    """One human line per schedule rule, as configured."""
    lines = []
    for rule in flow.schedule:
        zone = rule.timezone or "UTC"
        if rule.cron is not None:
            lines.append(f"cron {rule.cron} ({zone})")
        elif rule.business_day_after_period_end is not None:
            holidays = f", {len(rule.holidays)} holiday(s)" if rule.holidays else ""
            lines.append(
                f"business day {rule.business_day_after_period_end} after period end "
                f"at {rule.at} ({zone}{holidays})"
            )
        else:
            lines.append(f"{len(rule.dates)} date(s) at {rule.at} ({zone})")
    return lines


async def _flow_status(
    name: str, flow: FlowConfig, store: Store, schedule: ScheduleView | None
) -> FlowStatus:
    runs = await store.list_runs(flow=name, limit=LAST_RUNS)
    success = await store.list_runs(flow=name, status="succeeded", limit=1)
    quarantined: list[QuarantinedRecord] = []
    total = 0
    with_quarantine = next((run for run in runs if run.counts.quarantined > 0), None)
    if with_quarantine is not None:
        total = with_quarantine.counts.quarantined
        records = await store.records_for_run(
            with_quarantine.id, status="quarantined", limit=QUARANTINED
        )
        quarantined = [
            QuarantinedRecord(
                run_id=record.run_id,
                record_key=redact(record.record_key),
                stage=record.stage,
                error=_maybe(record.error),
            )
            for record in records
        ]
    running = schedule is not None and name in schedule.running()
    pending = schedule.pending().get(name) if schedule is not None else None
    fires = schedule.next_fire_times(name, NEXT_FIRES) if schedule is not None else []
    return FlowStatus(
        name=name,
        kind=flow.kind,
        source=flow.source,
        target=flow.target,
        enabled=flow.enabled,
        state="disabled" if not flow.enabled else "running" if running else "idle",
        pending=pending,
        schedule=describe_rules(flow),
        next_fire_times=[_iso_datetime(instant) for instant in fires],
        last_success_at=iso(success[0].finished_at) if success else None,
        last_runs=[_summary(run) for run in runs],
        quarantined=quarantined,
        quarantined_total=total,
    )


def _connection(health: TokenHealth) -> ConnectionStatus:
    return ConnectionStatus(
        name=health.connection,
        status=health.status,
        consecutive_failures=health.consecutive_failures,
        last_error=_maybe(health.last_error),
        token_expires_at=iso(health.expires_at),
    )


async def build_status(
    *,
    config: Config,
    store: Store,
    schedule: ScheduleView | None,
    connections: Sequence[TokenHealth],
    state: str,
    started_at: float,
    now: float,
) -> ServiceStatus:
    flows = [
        await _flow_status(name, flow, store, schedule) for name, flow in config.flows.items()
    ]
    return ServiceStatus(
        version=__version__,
        generated_at=iso(now) or "",
        state=state,
        started_at=iso(started_at) or "",
        flows=flows,
        connections=[_connection(health) for health in connections],
    )


def render_json(status: ServiceStatus) -> bytes:
    return redact(msgspec.json.encode(status).decode()).encode()
