"""Every message the actors exchange: frozen, tagged msgspec Structs, one section per conversation.

A reader of this file should see every conversation in the system. Messages are values: frozen,
so a sender cannot change one after handing it over, and tagged (``{"type": "GetToken", …}``), so a
union of them decodes unambiguously when one is persisted or logged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

import msgspec

# --------------------------------------------------------------------------------------------
# Tokens: any actor or HTTP session ⇄ TokenKeeper (one per connection, actors/token_keeper.py)
#
#   ask(GetToken())        → Token            a token valid for now (refreshed first if due)
#   tell(TokenRejected(t)) → (nothing)        the server answered 401 to a request made with t;
#                                             the keeper replaces t once, unless already replaced
#   ask(RefreshIfDue())    → float            the keeper's timer: refresh if due; answers the
#                                             epoch second at which to ask again
#   ask(GetTokenHealth())  → TokenHealth      for /status and `mlc check`
# --------------------------------------------------------------------------------------------


class Token(msgspec.Struct, frozen=True, tag=True):
    """An access token and how to present it.

    ``scheme`` is the ``Authorization`` scheme: ``AnaplanAuthToken`` (Anaplan's authentication
    API) or ``Bearer`` (OAuth, Epicor). ``expires_at`` is in epoch seconds. The value is a secret:
    the repr masks it, and token sources register it with :func:`mlc.logs.register_secret`.
    """

    scheme: str
    value: str
    expires_at: float

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value."""
        return f"{self.scheme} {self.value}"

    def remaining(self, now: float) -> float:
        """Seconds of validity left at epoch second ``now`` (negative once expired)."""
        return self.expires_at - now

    def __repr__(self) -> str:
        return f"Token(scheme={self.scheme!r}, value='***', expires_at={self.expires_at!r})"


class GetToken(msgspec.Struct, frozen=True, tag=True):
    """Ask for a valid token; the reply is a :class:`Token`."""


class TokenRejected(msgspec.Struct, frozen=True, tag=True):
    """The server refused ``token`` (HTTP 401): replace it, unless it was already replaced."""

    token: Token


class RefreshIfDue(msgspec.Struct, frozen=True, tag=True):
    """Refresh the token if it is within the refresh margin; reply: epoch second of the next due."""


class GetTokenHealth(msgspec.Struct, frozen=True, tag=True):
    """Ask how the connection's authentication is doing; the reply is a :class:`TokenHealth`."""


class TokenHealth(msgspec.Struct, frozen=True, tag=True):
    """``status``: ``unknown`` (no attempt yet), ``up``, or ``down`` (too many failures in a row).

    ``last_error`` is the latest failure's message (already redacted), kept after a recovery
    until the next failure replaces it; ``expires_at`` is the current token's expiry, if any.
    """

    connection: str
    status: str
    consecutive_failures: int = 0
    last_error: str | None = None
    expires_at: float | None = None
    next_attempt_at: float | None = None


TokenKeeperMessage = GetToken | TokenRejected | RefreshIfDue | GetTokenHealth


class TokenSource(Protocol):
    """What a TokenKeeper asks of a system's authentication (Anaplan, Epicor, Workday clients).

    Not a message but the other half of the keeper's conversation; it lives here, below both
    the clients that implement it and the actor that calls it. Implementations raise an
    :class:`mlc.errors.MlcError` naming the connection and the call when they fail.
    """

    @property
    def connection(self) -> str:
        """The connection name (``anaplan.fpa``), for messages, logs and metric labels."""
        ...

    async def acquire(self) -> Token:
        """A fresh token, from the credentials."""
        ...

    async def refresh(self, token: Token) -> Token:
        """A token that outlives ``token``; :meth:`acquire` when it cannot be refreshed."""
        ...

    async def revoke(self, token: Token) -> None:
        """End ``token``'s session where the system allows it (a no-op where it does not)."""
        ...


# --------------------------------------------------------------------------------------------
# Runs: callers (CLI, signals, schedules) → Scheduler → FlowRunner → Scheduler → listeners
# (actors/scheduler.py, actors/flow_runner.py)
#
#   Scheduler:
#     ask(RunFlow(flow, trigger))    → RunQueued      queued, or joined the flow's pending run
#                                                     (one pending run per flow: duplicates
#                                                     coalesce; a run already going does not count)
#     tell(RunFinished(...))         → (nothing)      from the FlowRunner; the Scheduler announces
#                                                     it to its listeners and starts the next run
#     ask(GetRunQueue())             → RunQueue       what runs now and what waits
#   FlowRunner (one run at a time, in the order the Scheduler hands them over):
#     tell(ExecuteRun(ticket, …))    → (nothing)      runs the flow, then tells RunFinished
#   Progress of the current run is announced to listeners as RunProgress (not sent to an actor).
# --------------------------------------------------------------------------------------------


class RunTally(msgspec.Struct, frozen=True, kw_only=True):
    """Records of one run at each step.

    ``read``: records (target cells, chart values) built from the source; ``mapped``: of those,
    with every code mapped; ``quarantined``: held back for a missing code; ``unchanged``: mapped but
    identical to what was last loaded, so not sent; ``loaded``: accepted by the target;
    ``failed``: rejected by the target (per-row failures of an import).
    """

    read: int = 0
    mapped: int = 0
    quarantined: int = 0
    unchanged: int = 0
    loaded: int = 0
    failed: int = 0
    #: Outbound only: records a direction rule kept out of the target (version, period window,
    #: closed period).
    skipped: int = 0
    #: Outbound only: writes made in the target — Epicor budget cells and journals changed, or
    #: that would change in a dry run.
    changes: int = 0


class RunFlow(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Request one run of ``flow``; ``trigger`` says why (``schedule``, ``signal``, ``manual``,
    ``sync``, ``replay``…); ``full`` ignores the watermark and reads everything again."""

    flow: str
    trigger: str
    full: bool = False


class RunQueued(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The answer to :class:`RunFlow`: the ticket whose :class:`RunFinished` to wait for.

    ``coalesced`` is true when the request joined a run of the same flow that was already waiting:
    both requests are answered by that one run.
    """

    ticket: int
    flow: str
    coalesced: bool


class RunTicket(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    ticket: int
    flow: str
    trigger: str
    full: bool
    requested_at: float


class GetRunQueue(msgspec.Struct, frozen=True, tag=True):
    """Ask the Scheduler for its queue; the reply is a :class:`RunQueue`."""


class RunQueue(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    running: RunTicket | None
    pending: tuple[RunTicket, ...]


class ExecuteRun(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The Scheduler hands one run to the FlowRunner."""

    ticket: int
    flow: str
    trigger: str
    full: bool = False


class RunFinished(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """A run ended: ``status`` is ``succeeded``, ``partial`` (some records quarantined or
    rejected, the rest loaded and the watermark committed) or ``failed`` (nothing committed).

    ``run_id`` is ``None`` only when the run could not even be opened in the store.
    """

    ticket: int
    flow: str
    trigger: str
    run_id: int | None
    status: str
    tally: RunTally
    started_at: float
    finished_at: float
    error: str | None = None
    watermark: str | None = None
    #: The run wrote nothing and only reported what would change (outbound dry run).
    dry_run: bool = False


class RunProgress(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Announced by the FlowRunner while a run goes: ``phase`` is one of ``resuming`` (finishing
    an interrupted run first), ``pulling``, ``mapping``, ``loading`` (upload, import, including
    any wait for a busy model), ``auditing``, ``done``; ``source_rows`` counts rows read from the
    source so far."""

    flow: str
    run_id: int
    phase: str
    source_rows: int
    tally: RunTally
    elapsed: float


SchedulerMessage = RunFlow | RunFinished | GetRunQueue
FlowRunnerMessage = ExecuteRun


# --------------------------------------------------------------------------------------------
# Audit: FlowRunner (and the CLI's readers) → AuditActor, the single writer of runs and records
# (actors/audit.py). Every ask is answered once its rows are committed: an answer means durable.
#
#   ask(OpenRun(flow, trigger, parent_run_id))  → int           the new run's id
#   ask(RecordEvents(events))                   → int           events written (one transaction)
#   ask(UpdateRunTally(run_id, tally))          → None          progress of a running run
#   ask(CloseRun(run_id, status, tally, error)) → None
#   ask(LastCommittedRun(flow))                 → int | None    newest run that committed
#   ask(ReadRecords(run_id, status, after_id))  → tuple[StoredRecord, ...]   one page
#   ask(LastLoadedHashes(flow, keys))           → dict[str, str]   key → hash last loaded
# --------------------------------------------------------------------------------------------


class AuditRecord(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The state of one record in one run. ``stage``: ``read``, ``mapped``, ``loaded``,
    ``aligned``; ``status``: ``ok``, ``quarantined``, ``unchanged``, ``failed``, ``missing``,
    ``added``. ``payload`` is what a later run needs to retry the record (quarantined records)."""

    run_id: int
    flow: str
    key: str
    content_hash: str
    stage: str
    status: str
    error: str | None = None
    payload: bytes | None = None


class OpenRun(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Open a run; ``parent_run_id`` is the run a replay re-sends records of."""

    flow: str
    trigger: str
    parent_run_id: int | None = None


class RecordEvents(msgspec.Struct, frozen=True, tag=True):
    events: tuple[AuditRecord, ...]


class UpdateRunTally(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    run_id: int
    tally: RunTally


class CloseRun(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    run_id: int
    status: str
    tally: RunTally
    error: str | None = None


class LastCommittedRun(msgspec.Struct, frozen=True, tag=True):
    """The newest run of ``flow`` that finished ``succeeded`` or ``partial``."""

    flow: str


class ReadRecords(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    run_id: int
    status: str | None = None
    after_id: int = 0
    limit: int = 1000


class StoredRecord(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    id: int
    key: str
    content_hash: str
    stage: str
    status: str
    error: str | None
    payload: bytes | None


class LastLoadedHashes(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """For each of ``keys``, the content hash it had when last loaded successfully."""

    flow: str
    keys: tuple[str, ...]


AuditMessage = (
    OpenRun
    | RecordEvents
    | UpdateRunTally
    | CloseRun
    | LastCommittedRun
    | ReadRecords
    | LastLoadedHashes
)


# --------------------------------------------------------------------------------------------
# Epicor: FlowRunner → EpicorPoller, which owns the pull in flight and its watermark
# (actors/epicor_poller.py)
#
#   ask(StartPull(run_id, flow, full))   → PullStarted     watermark read; delta or full
#   ask(ContinuePull(flow))              → PullProgress    some more pages; until done
#   ask(NextCells(flow, limit))          → RecordBatch     summed cells, until done
#   ask(CommitWatermark(flow[, value]))  → str | None      only after the target loaded the run
#                                                          and the audit rows are durable
#   ask(EndPull(flow))                   → None            forget the pull (files deleted)
#   ask(ReadChart(flow))                 → Chart           segment values for coa-align
# --------------------------------------------------------------------------------------------


class SourceCell(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """One target cell summed from source rows, in source terms (Epicor codes, fiscal period).

    ``scope`` is the company (and book) the rows came from; ``rows`` how many source rows were
    summed; ``documents`` how many distinct documents (AP invoices) they belong to.
    """

    key: str
    scope: str
    account: str
    cost_center: str
    fiscal_year: int
    fiscal_period: int
    amount: Decimal
    rows: int
    documents: int = 0


class StartPull(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    run_id: int
    flow: str
    full: bool = False


class PullStarted(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """``mode``: ``full`` (no watermark yet, or asked for) or ``delta`` (after ``watermark``)."""

    flow: str
    mode: str
    watermark: str | None


class ContinuePull(msgspec.Struct, frozen=True, tag=True):
    flow: str


class PullProgress(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """``phase``: ``changes`` (finding changed rows), ``cells`` (re-reading the changed cells'
    periods) or ``all`` (a full pull). Once ``done``, ``watermark`` is the one the pull reached
    (committed only by :class:`CommitWatermark`)."""

    flow: str
    phase: str
    source_rows: int
    done: bool
    watermark: str | None = None


class NextCells(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    flow: str
    limit: int = 1000


class RecordBatch(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    flow: str
    cells: tuple[SourceCell, ...]
    done: bool


class CommitWatermark(msgspec.Struct, frozen=True, tag=True):
    """Commit the watermark of the flow's finished pull — or, with ``value``, that value (the
    watermark of an interrupted run being resumed, mlc.flows.checkpoint)."""

    flow: str
    value: str | None = None


class EndPull(msgspec.Struct, frozen=True, tag=True):
    flow: str


class ChartValue(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """One chart segment value: a natural account or a cost center."""

    code: str
    name: str
    category: str = ""
    normal_balance: str = ""
    active: bool = True


class ReadChart(msgspec.Struct, frozen=True, tag=True):
    flow: str


class Chart(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    accounts: tuple[ChartValue, ...]
    cost_centers: tuple[ChartValue, ...]


EpicorPollerMessage = StartPull | ContinuePull | NextCells | CommitWatermark | EndPull | ReadChart


# --------------------------------------------------------------------------------------------
# Mapping: FlowRunner → MappingActor, which owns the code mappings (actors/mapping.py). It reads
# the Anaplan list members through the flow's AnaplanModelActor and the overrides in the store.
#
#   ask(LoadMappings(flow))             → MappingSummary   refresh before a run maps anything
#   ask(MapCells(flow, cells))          → BatchMapped      every cell mapped or quarantined
#   ask(DiffChart(flow, chart))         → ChartDiff        coa-align: what Anaplan lacks
#   ask(SaveAlignment(flow, …))         → int              coa-align: record matched codes
# --------------------------------------------------------------------------------------------


class LoadMappings(msgspec.Struct, frozen=True, tag=True):
    flow: str


class MappingSummary(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    accounts: int
    cost_centers: int
    overrides: int


class MapCells(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    flow: str
    cells: tuple[SourceCell, ...]


class MappedRow(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """A record ready for the target: ``values`` in the flow's column order."""

    key: str
    values: tuple[str, ...]
    content_hash: str


class QuarantinedRow(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """A record held back: ``reason`` says what is missing where, ``missing_code`` names it;
    ``payload`` is the encoded :class:`SourceCell`, so a later run can retry it."""

    key: str
    reason: str
    missing_code: str
    content_hash: str
    payload: bytes


class BatchMapped(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    mapped: tuple[MappedRow, ...]
    quarantined: tuple[QuarantinedRow, ...]


class DiffChart(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    flow: str
    chart: Chart


class ChartDiff(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    missing_accounts: tuple[ChartValue, ...]
    missing_cost_centers: tuple[ChartValue, ...]
    matched_accounts: tuple[str, ...]
    matched_cost_centers: tuple[str, ...]


class SaveAlignment(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Codes now present on both sides; stored as identity mappings unless overridden."""

    flow: str
    accounts: tuple[str, ...]
    cost_centers: tuple[str, ...]


MappingMessage = LoadMappings | MapCells | DiffChart | SaveAlignment


# --------------------------------------------------------------------------------------------
# Anaplan model: FlowRunner / MappingActor → AnaplanModelActor, one per model; it owns the model's
# lock (one action at a time) and its in-flight task ids (actors/anaplan_model.py)
#
#   ask(ReadListMembers(list_name))      → tuple[ListMember, ...]   once the model is free
#   ask(GetImportHeaders(import_name))   → tuple[str, ...]   the import's CSV headers
#   ask(LoadFile(run_id, flow, …))       → BatchLoaded       wait while busy, upload, import,
#                                                            poll, read result and failure dump
#   ask(RunExport(export_name, dest))    → ExportedFile      export and download by chunks
# --------------------------------------------------------------------------------------------


class ListMember(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    code: str
    name: str


class ReadListMembers(msgspec.Struct, frozen=True, tag=True):
    """List reads wait while the model is locked (help 27b77b79), so the actor first waits for
    the model to be free, for at most ``busy_timeout`` seconds."""

    list_name: str
    busy_timeout: float = 1800.0


class GetImportHeaders(msgspec.Struct, frozen=True, tag=True):
    import_name: str


class SpoolFile(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """A CSV written to disk by the FlowRunner (mlc.flows.spool): ``path``, its ``rows`` and
    ``size`` in bytes; it is uploaded in gzip-compressed chunks of ``chunk_bytes`` before
    compression (≤ 50 MB, Anaplan's limit)."""

    path: str
    header: tuple[str, ...]
    rows: int
    size: int
    chunk_bytes: int


class LoadFile(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Upload ``spool`` into the import's data source file and run the import.

    ``busy_timeout`` bounds the wait for the model to become free before uploading.
    """

    run_id: int
    flow: str
    import_name: str
    spool: SpoolFile
    busy_timeout: float


class RowFailure(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """One row the import rejected: ``line`` in the uploaded file (header = line 1)."""

    line: int
    error: str


class BatchLoaded(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The import's outcome. ``successful`` false: the task failed as a whole (nothing loaded);
    otherwise ``failures`` lists the rejected rows. ``reattached``: the task was one started
    earlier for the same run (after a lost answer or a restart), not started again."""

    import_name: str
    task_id: str
    successful: bool
    failures: tuple[RowFailure, ...]
    details: tuple[str, ...]
    waited_seconds: float
    reattached: bool = False


class RunExport(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    export_name: str
    destination: str
    busy_timeout: float


class ExportedFile(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    export_name: str
    path: str
    task_id: str
    bytes: int


AnaplanModelMessage = ReadListMembers | GetImportHeaders | LoadFile | RunExport


# --------------------------------------------------------------------------------------------
# Outbound: the outbound run (mlc/flows/outbound/run.py, driven by the FlowRunner or `mlc
# replay`) → EpicorWriter, which owns the posting keys (actors/epicor_writer.py). Every write is
# checked against what Epicor holds first; a posting key is stored only after Epicor confirmed.
#
#   ask(ReadTargetChart(coa, …))        → TargetChart           Epicor's accounts, for mapping
#   ask(WriteBudgetCells(…))            → BudgetCellsWritten    upsert; one outcome per cell
#   ask(PostPlanJournal(…))             → JournalOutcome        one period's deltas, balanced
#   ask(ReadBudgetVsActual(…))          → BudgetVsActual        for `mlc demo`
# --------------------------------------------------------------------------------------------


class ReadTargetChart(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Ask for the chart the outbound mapping resolves against: segment values and GL accounts."""

    coa: str
    account_segment: int
    cost_center_segment: int


class TargetChart(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Active natural accounts (``credit_accounts``: those with normal balance C), cost-center
    segment values, and active GL accounts in Epicor's ``|``-separated form."""

    coa: str
    natural_accounts: tuple[str, ...]
    credit_accounts: tuple[str, ...]
    cost_centers: tuple[str, ...]
    gl_accounts: tuple[str, ...]


class BudgetTarget(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Which Epicor budget the cells belong to (the AccountBudget key beside account and year)."""

    book: str
    budget_code: str
    balance_type: str = "D"
    fiscal_calendar: str = "MAIN"
    fiscal_year_suffix: str = ""


class BudgetCell(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The approved value of one Epicor budget period and its posting key."""

    gl_account: str
    fiscal_year: int
    fiscal_period: int
    amount: Decimal
    posting_key: str


class WriteBudgetCells(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Make Epicor hold ``cells``; ``dry_run`` reads and compares only."""

    run_id: int
    flow: str
    target: BudgetTarget
    cells: tuple[BudgetCell, ...]
    dry_run: bool = False


class CellOutcome(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """``status``: ``written``; ``unchanged`` (Epicor already held the value); ``would-write``
    (dry run); ``failed`` (``error`` says why). ``previous``: Epicor's value before, None if the
    period had no budget row."""

    posting_key: str
    status: str
    previous: Decimal | None = None
    error: str | None = None


class BudgetCellsWritten(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    outcomes: tuple[CellOutcome, ...]


class JournalTarget(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """The total one GL account should carry from this flow's journals in one period."""

    gl_account: str
    amount: Decimal


class PostPlanJournal(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Post, for one fiscal period, the difference between ``targets`` and what this flow's
    journals already posted there, as one balanced journal (offset line to ``offset_account``).

    ``reverse_missing``: accounts this flow posted to before but absent from ``targets`` are
    brought back to zero (only safe when every record of the period mapped).
    """

    run_id: int
    flow: str
    version: str
    book: str
    journal_code: str
    fiscal_year: int
    fiscal_period: int
    #: ISO date (``2026-03-31``) the journal is entered on; it fixes the fiscal period in Epicor.
    je_date: str
    offset_account: str
    targets: tuple[JournalTarget, ...]
    reverse_missing: bool = False
    dry_run: bool = False


class JournalLinePlan(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """One line of a planned journal: ``amount`` = ``target`` - ``posted`` (debit if positive)."""

    gl_account: str
    amount: Decimal
    posted: Decimal
    target: Decimal


class JournalOutcome(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """``status``: ``posted``; ``recovered`` (found posted in Epicor, e.g. after a crash);
    ``unchanged`` (nothing to post); ``would-post`` (dry run); ``failed``."""

    status: str
    reference: str = ""
    group_id: str = ""
    lines: tuple[JournalLinePlan, ...] = ()
    error: str | None = None


class ReadBudgetVsActual(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Budget and actual per cost center for one fiscal year, read from Epicor."""

    fiscal_year: int
    budget_code: str
    book: str = "MAIN"
    cost_center_segment: int = 2
    last_period: int = 12


class CostCenterBudget(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    cost_center: str
    budget: Decimal
    actual: Decimal


class BudgetVsActual(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    fiscal_year: int
    budget_code: str
    last_period: int
    rows: tuple[CostCenterBudget, ...]


EpicorWriterMessage = ReadTargetChart | WriteBudgetCells | PostPlanJournal | ReadBudgetVsActual
