"""What one run needs while the FlowRunner executes it: the actors it talks to, and its counts.

A run talks to the other actors only through their refs (asks, so every answer — or failure — is
the run's to handle); its own state is this object, which lives exactly as long as the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlc.errors import MlcError
from mlc.flows.options import InboundFlowSpec, key_path
from mlc.flows.tally import Tally
from mlc.messages import (
    AnaplanModelMessage,
    AuditMessage,
    AuditRecord,
    EpicorPollerMessage,
    MappingMessage,
    RecordEvents,
    RunProgress,
    UpdateRunTally,
)
from mlc.runtime import ActorRef, Clock

log = logging.getLogger("mlc.flows")

ProgressListener = Callable[[RunProgress], None]

#: Audit events are written in transactions of this many records.
EVENT_BATCH = 1000


class RunFailed(MlcError):
    """The run cannot go on; nothing of it is committed (the message says why)."""


@dataclass
class RunOutcome:
    status: str
    watermark: str | None = None


@dataclass(eq=False)
class RunContext:
    spec: InboundFlowSpec
    run_id: int
    trigger: str
    audit: ActorRef[AuditMessage]
    poller: ActorRef[EpicorPollerMessage]
    mapping: ActorRef[MappingMessage]
    model: ActorRef[AnaplanModelMessage]
    clock: Clock
    work_dir: Path
    progress: ProgressListener
    started: float
    tally: Tally = field(default_factory=Tally)
    source_rows: int = 0
    _events: list[AuditRecord] = field(default_factory=list)

    @property
    def flow(self) -> str:
        return self.spec.name

    def report(self, phase: str) -> None:
        self.progress(
            RunProgress(
                flow=self.flow,
                run_id=self.run_id,
                phase=phase,
                source_rows=self.source_rows,
                tally=self.tally.frozen(),
                elapsed=self.clock.monotonic() - self.started,
            )
        )

    def event(
        self,
        key: str,
        content_hash: str,
        stage: str,
        status: str,
        error: str | None = None,
        payload: bytes | None = None,
    ) -> AuditRecord:
        return AuditRecord(
            run_id=self.run_id,
            flow=self.flow,
            key=key,
            content_hash=content_hash,
            stage=stage,
            status=status,
            error=error,
            payload=payload,
        )

    async def record(self, events: Sequence[AuditRecord]) -> None:
        """Queue audit events; written (durably) in batches of :data:`EVENT_BATCH`."""
        self._events.extend(events)
        if len(self._events) >= EVENT_BATCH:
            await self.flush()

    async def flush(self) -> None:
        """Write every queued event; returns once they are committed."""
        while self._events:
            batch, self._events = self._events[:EVENT_BATCH], self._events[EVENT_BATCH:]
            await self.audit.ask(RecordEvents(tuple(batch)))
        await self.audit.ask(UpdateRunTally(run_id=self.run_id, tally=self.tally.frozen()))


def check_import_columns(spec: InboundFlowSpec, import_name: str, headers: Sequence[str]) -> None:
    """The flow's columns must be exactly the import's: a missing one fails the import in
    Anaplan, an extra one is a typo that would silently send nothing."""
    problems: list[str] = []
    written = set(spec.headers)
    expected = list(headers)
    missing = [header for header in expected if header not in written]
    if missing:
        problems.append(
            f"{key_path('flows', spec.name, 'columns')}: the Anaplan import {import_name!r} "
            f"reads columns {missing} that the flow does not write"
        )
    problems.extend(
        f"{key_path('flows', spec.name, 'columns', header)}: the Anaplan import "
        f"{import_name!r} has no such column (it has {expected})"
        for header in spec.headers
        if header not in expected
    )
    if problems:
        raise RunFailed("; ".join(problems))
