"""What an outbound run needs from the rest of the service, as one protocol.

The outbound run (:mod:`.run`, :mod:`.replay`) is flow logic: it must not reach into actors, the
store or the protocol clients itself (``docs/contributing.md``, one-way dependencies). The actor
tree gives it an :class:`OutboundPorts` instead (``actors/outbound_run.py``) — the AuditActor for
runs and records, the AnaplanModelActor for the export, the mapping table, the EpicorWriter — for
scheduled runs, ``mlc sync`` and ``mlc replay`` alike. Every method is awaited in order; none is
called concurrently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlc.messages import (
    AuditRecord,
    BudgetCellsWritten,
    JournalOutcome,
    PostPlanJournal,
    ReadTargetChart,
    RunTally,
    StoredRecord,
    TargetChart,
    WriteBudgetCells,
)


@dataclass(frozen=True)
class RunLineage:
    """A stored run and the run it replays, if any."""

    run_id: int
    flow: str
    parent_run_id: int | None


class OutboundPorts(Protocol):
    async def open_run(self, flow: str, trigger: str, parent_run_id: int | None) -> int:
        """A new run's id (the audit row exists and is durable)."""
        ...

    async def record(self, events: Sequence[AuditRecord]) -> None:
        """Write record states durably (one batch, one transaction)."""
        ...

    async def progress(self, run_id: int, tally: RunTally) -> None: ...

    async def close_run(
        self, run_id: int, status: str, tally: RunTally, error: str | None
    ) -> None: ...

    async def lineage(self, run_id: int) -> RunLineage | None: ...

    async def records(
        self, run_id: int, *, status: str | None, after_id: int, limit: int
    ) -> Sequence[StoredRecord]:
        """One page of a run's records in insertion order (``after_id`` = last id seen)."""
        ...

    async def mapping_tables(self, kinds: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        """The mapping-table rows (source code → target code) of each kind."""
        ...

    async def export(
        self, run_id: int, export_name: str, destination: Path, busy_timeout: float
    ) -> Path:
        """Run the Anaplan export, wait for it, download it to ``destination``; the file."""
        ...

    async def target_chart(self, request: ReadTargetChart) -> TargetChart: ...

    async def write_budget(self, request: WriteBudgetCells) -> BudgetCellsWritten: ...

    async def post_journal(self, request: PostPlanJournal) -> JournalOutcome: ...
