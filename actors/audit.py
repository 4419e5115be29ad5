"""The AuditActor: the single writer of runs and record events (DESIGN §3).

Every write is one store transaction (a batch of record events included) and an ask is answered
only once it is committed: a FlowRunner that got its answer may act on the rows being durable —
which is what lets it commit a watermark right after. Reads used by runs (the last committed run,
quarantined records to retry, last loaded hashes) go through here too, so they see every write
made before them in mailbox order.
"""

from __future__ import annotations

from typing import Any, cast

from mlc.logs import redact
from mlc.messages import (
    AuditMessage,
    AuditRecord,
    CloseRun,
    LastCommittedRun,
    LastLoadedHashes,
    OpenRun,
    ReadRecords,
    RecordEvents,
    RunTally,
    StoredRecord,
    UpdateRunTally,
)
from mlc.runtime import Actor
from mlc.store import RecordEvent, RunCounts, RunStatus, Store

#: Run statuses whose watermark was committed (the run's data reached the target).
COMMITTED_STATUSES: tuple[RunStatus, ...] = ("succeeded", "partial")


def run_counts(tally: RunTally) -> RunCounts:
    """The store's counters; ``unchanged`` records count as mapped, not loaded."""
    return RunCounts(
        read=tally.read,
        mapped=tally.mapped,
        quarantined=tally.quarantined,
        loaded=tally.loaded,
        failed=tally.failed,
    )


def _event(record: AuditRecord) -> RecordEvent:
    return RecordEvent(
        run_id=record.run_id,
        flow=record.flow,
        record_key=record.key,
        content_hash=record.content_hash,
        stage=record.stage,
        status=record.status,
        error=redact(record.error) if record.error else None,
        payload=record.payload,
    )


class AuditActor(Actor[AuditMessage]):
    def __init__(self, store: Store) -> None:
        self._store = store

    async def receive(self, msg: AuditMessage) -> Any:
        store = self._store
        match msg:
            case OpenRun(flow=flow, trigger=trigger, parent_run_id=parent):
                run = await store.create_run(flow, trigger, parent_run_id=parent)
                return run.id
            case RecordEvents(events=events):
                return await store.add_records(_event(event) for event in events)
            case UpdateRunTally(run_id=run_id, tally=tally):
                await store.update_run_counts(run_id, run_counts(tally))
                return None
            case CloseRun(run_id=run_id, status=status, tally=tally, error=error):
                await store.finish_run(
                    run_id,
                    cast(RunStatus, status),
                    run_counts(tally),
                    error=redact(error) if error else None,
                )
                return None
            case LastCommittedRun(flow=flow):
                newest = [
                    run.id
                    for status in COMMITTED_STATUSES
                    for run in await store.list_runs(flow=flow, status=status, limit=1)
                ]
                return max(newest, default=None)
            case ReadRecords(run_id=run_id, status=status, after_id=after_id, limit=limit):
                records = await store.records_for_run(
                    run_id, status=status, after_id=after_id, limit=limit
                )
                return tuple(
                    StoredRecord(
                        id=r.id,
                        key=r.record_key,
                        content_hash=r.content_hash,
                        stage=r.stage,
                        status=r.status,
                        error=r.error,
                        payload=r.payload,
                    )
                    for r in records
                )
            case LastLoadedHashes(flow=flow, keys=keys):
                found: dict[str, str] = {}
                for key in keys:
                    for record in reversed(await store.record_history(flow, key)):
                        if record.stage == "loaded" and record.status == "ok":
                            found[key] = record.content_hash
                            break
                return found
