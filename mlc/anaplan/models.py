"""The Integration, Authentication, OAuth and CloudWorks responses this client reads, as Structs.

Shapes from reference/anaplan.md §1, §2 and §4. Every field the client does not need is left out
(msgspec ignores unknown fields, which is also what Anaplan asks of clients: new fields such as
``refreshToken`` appear without notice). Anaplan omits the key of an empty collection, so every
collection defaults to an empty list.
"""

from __future__ import annotations

import msgspec

# --- envelope -------------------------------------------------------------------------------


class Paging(msgspec.Struct):
    currentPageSize: int = 0
    offset: int = 0
    totalSize: int = 0
    next: str | None = None


class Meta(msgspec.Struct):
    paging: Paging | None = None


class Status(msgspec.Struct):
    code: int = 0
    message: str = ""


# --- authentication API and OAuth --------------------------------------------------------------


class TokenInfo(msgspec.Struct):
    tokenValue: str
    #: Epoch milliseconds.
    expiresAt: int
    tokenId: str = ""


class AuthResponse(msgspec.Struct):
    status: str = ""
    statusMessage: str = ""
    tokenInfo: TokenInfo | None = None


class OAuthTokenResponse(msgspec.Struct):
    access_token: str
    expires_in: float
    token_type: str = "Bearer"
    refresh_token: str | None = None


class DeviceCode(msgspec.Struct, frozen=True):
    """``POST /oauth/device/code``: what the user must do, and how often we may ask."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: float
    interval: float = 5.0
    verification_uri_complete: str | None = None

    def __repr__(self) -> str:
        return f"DeviceCode(user_code={self.user_code!r}, uri={self.verification_uri!r})"


class OAuthError(msgspec.Struct):
    error: str = ""
    error_description: str = ""


# --- workspaces, models, lists ---------------------------------------------------------------


class Workspace(msgspec.Struct, frozen=True):
    id: str
    name: str
    active: bool = True


class Model(msgspec.Struct, frozen=True):
    id: str
    name: str
    activeState: str = ""
    currentWorkspaceId: str = ""
    modelTransactionRunning: bool | None = None


class ListSummary(msgspec.Struct, frozen=True):
    id: str
    name: str


class ListItem(msgspec.Struct, frozen=True):
    """A list member; properties come string-encoded, and only with ``includeAll=true``."""

    id: str
    name: str
    code: str | None = None
    parent: str | None = None
    parentId: str | None = None
    properties: dict[str, str] = {}
    subsets: dict[str, bool] = {}


class RequestStatus(msgspec.Struct, frozen=True):
    progress: float = -1.0
    currentStep: str = ""
    tooltip: str | None = None
    taskId: str | None = None


# --- actions, files, tasks -------------------------------------------------------------------


class Import(msgspec.Struct, frozen=True):
    id: str
    name: str
    importType: str = ""
    #: The file (113…) to upload into; empty when the import is not file-sourced.
    importDataSourceId: str = ""


class ImportSource(msgspec.Struct, frozen=True):
    headerNames: list[str] = []
    columnCount: int = 0
    columnSeparator: str = ","
    textDelimiter: str = '"'
    textEncoding: str | None = None
    headerRow: int = 1
    firstDataRow: int = 2


class ImportMetadata(msgspec.Struct, frozen=True):
    name: str
    type: str = ""
    source: ImportSource | None = None


class Export(msgspec.Struct, frozen=True):
    id: str
    name: str
    exportType: str = ""
    exportFormat: str = ""


class ExportMetadata(msgspec.Struct, frozen=True):
    headerNames: list[str] = []
    columnCount: int = 0
    rowCount: int = 0
    exportFormat: str = ""
    encoding: str | None = None
    delimiter: str | None = '"'
    separator: str | None = ","


class Action(msgspec.Struct, frozen=True):
    """A deletion action (117…) or a process (118…)."""

    id: str
    name: str


class File(msgspec.Struct, frozen=True):
    id: str
    name: str
    chunkCount: int = 0


class Chunk(msgspec.Struct, frozen=True):
    id: str
    name: str = ""


class TaskDetail(msgspec.Struct, frozen=True):
    type: str = ""
    localMessageText: str = ""
    occurrences: int = 0
    values: list[str] = []


class TaskResult(msgspec.Struct, frozen=True):
    successful: bool = False
    failureDumpAvailable: bool = False
    objectId: str = ""
    objectName: str = ""
    details: list[TaskDetail] = []
    nestedResults: list[TaskResult] = []


class Task(msgspec.Struct, frozen=True):
    """A task of an import, export, action or process.

    ``taskState``: NOT_STARTED, IN_PROGRESS, COMPLETE (success *or* failure: read ``result``),
    CANCELLING, CANCELLED; ``result`` only once terminal. ``creationTime`` is epoch ms.
    """

    taskId: str
    taskState: str = "NOT_STARTED"
    creationTime: int = 0
    currentStep: str = ""
    progress: float = 0.0
    result: TaskResult | None = None

    @property
    def terminal(self) -> bool:
        return self.taskState in TERMINAL_TASK_STATES


TERMINAL_TASK_STATES = frozenset({"COMPLETE", "CANCELLED"})


# --- CloudWorks ------------------------------------------------------------------------------


class IntegrationRun(msgspec.Struct, frozen=True):
    startDate: str | None = None
    endDate: str | None = None
    success: bool | None = None
    message: str | None = None
    triggeredBy: str | None = None


class Integration(msgspec.Struct, frozen=True):
    integrationId: str
    name: str
    integrationType: str = ""
    workspaceId: str | None = None
    modelId: str | None = None
    latestRun: IntegrationRun | None = None

    @property
    def running(self) -> bool:
        """A run has started and not ended.

        The live API shows ``latestRun.message == "Running"`` during a run (reference §4, live
        observation); a started run without ``endDate`` is read the same way (unverified).
        """
        run = self.latestRun
        if run is None:
            return False
        if run.message == "Running":
            return True
        return run.startDate is not None and run.endDate is None and run.success is None


# --- one Struct per collection response ------------------------------------------------------


class WorkspacesPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    workspaces: list[Workspace] = []


class ModelsPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    models: list[Model] = []


class ListsPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    lists: list[ListSummary] = []


class ListItemsPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    listItems: list[ListItem] = []


class ImportsPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    imports: list[Import] = []


class ExportsPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    exports: list[Export] = []


class ActionsPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    actions: list[Action] = []


class ProcessesPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    processes: list[Action] = []


class FilesPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    files: list[File] = []


class TasksPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    tasks: list[Task] = []


class ChunksPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    chunks: list[Chunk] = []


class IntegrationsPage(msgspec.Struct):
    meta: Meta = msgspec.field(default_factory=Meta)
    integrations: list[Integration] = []


# --- single-object responses -----------------------------------------------------------------


class ModelResponse(msgspec.Struct):
    model: Model


class ImportMetadataResponse(msgspec.Struct):
    importMetadata: ImportMetadata


class ExportMetadataResponse(msgspec.Struct):
    exportMetadata: ExportMetadata


class FileResponse(msgspec.Struct):
    file: File | None = None


class TaskResponse(msgspec.Struct):
    task: Task


class ModelStatusResponse(msgspec.Struct):
    """``/models/{M}/status``: live answers a bare ``requestStatus``, the docs an enveloped one."""

    requestStatus: RequestStatus = msgspec.field(default_factory=RequestStatus)
