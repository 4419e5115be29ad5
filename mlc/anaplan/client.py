"""The Anaplan Integration API v2.0 client: discovery by name, list members, model status, actions.

:class:`AnaplanClient` is tenant-wide (workspaces, models, resolving names to ids);
:meth:`AnaplanClient.model` gives a :class:`ModelClient` for one resolved model, which reads its
imports, exports, files and lists, uploads, runs and polls tasks, and downloads exports and
failure dumps (the work itself is in :mod:`.files` and :mod:`.tasks`).

Wiring, per connection: one :class:`mlc.http.HttpConnection` on the API host, built with the
tenant's limiter (:class:`mlc.anaplan.limiter.TenantLimiters`) so that every model actor of the
tenant shares the 600/min budget, and an :class:`mlc.http.Authenticator` over the connection's
TokenKeeper::

    http = HttpConnection("anaplan.fpa", cfg.api_url, system="anaplan", clock=clock,
                          limiter=limiters.for_tenant(tenant, cfg.requests_per_minute))
    client = AnaplanClient(AnaplanTransport("anaplan.fpa", http, authenticator))
    model = client.model(await client.resolve(cfg.workspace, cfg.model))
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from mlc.anaplan import files as file_ops
from mlc.anaplan import tasks as task_ops
from mlc.anaplan.errors import AnaplanBusy
from mlc.anaplan.ids import ActionKind, ActionRef, ModelRef
from mlc.anaplan.models import (
    Action,
    ActionsPage,
    Export,
    ExportMetadata,
    ExportMetadataResponse,
    ExportsPage,
    File,
    FilesPage,
    Import,
    ImportMetadata,
    ImportMetadataResponse,
    ImportsPage,
    ListItem,
    ListItemsPage,
    ListsPage,
    ListSummary,
    Model,
    ModelResponse,
    ModelsPage,
    ModelStatusResponse,
    ProcessesPage,
    RequestStatus,
    Task,
    Workspace,
    WorkspacesPage,
)
from mlc.anaplan.names import find_by_name
from mlc.anaplan.paging import collect, paginate
from mlc.anaplan.polling import PollSchedule
from mlc.anaplan.transport import AnaplanTransport
from mlc.runtime.clock import Clock

_MODEL_ROUTE = "/2/0/workspaces/{workspace}/models/{model}"


class AnaplanClient:
    """Tenant-wide calls of one connection."""

    def __init__(self, transport: AnaplanTransport) -> None:
        self.transport = transport

    @property
    def connection(self) -> str:
        return self.transport.connection

    async def workspaces(self) -> list[Workspace]:
        return await collect(
            paginate(
                self.transport,
                "/2/0/workspaces",
                WorkspacesPage,
                lambda page: page.workspaces,
                route="/2/0/workspaces",
            )
        )

    async def models(self, workspace_id: str) -> list[Model]:
        url = f"/2/0/workspaces/{workspace_id}/models"
        return await collect(
            paginate(
                self.transport,
                url,
                ModelsPage,
                lambda page: page.models,
                route="/2/0/workspaces/{workspace}/models",
            )
        )

    async def resolve(self, workspace_name: str, model_name: str) -> ModelRef:
        """The ids of the model named ``model_name`` in the workspace named ``workspace_name``.

        :raises AnaplanNotFound: either name is unknown (the message suggests near misses).
        """
        workspace = find_by_name(
            await self.workspaces(),
            workspace_name,
            lambda w: w.name,
            lambda w: w.id,
            "workspace",
            self.connection,
        )
        model = find_by_name(
            await self.models(workspace.id),
            model_name,
            lambda m: m.name,
            lambda m: m.id,
            "model",
            f"{self.connection} workspace {workspace_name!r}",
        )
        return ModelRef(workspace.id, model.id, workspace.name, model.name)

    def model(self, ref: ModelRef) -> ModelClient:
        return ModelClient(self.transport, ref)


class ModelClient:
    """Calls on one model."""

    def __init__(self, transport: AnaplanTransport, ref: ModelRef) -> None:
        self.transport = transport
        self.ref = ref

    @property
    def _where(self) -> str:
        model = self.ref.model_name or self.ref.model_id
        return f"{self.transport.connection} model {model!r}"

    # --- model ----------------------------------------------------------------------------

    async def details(self) -> Model:
        """``GET /models/{M}?modelDetails=true``: state, ``modelTransactionRunning``, …"""
        response = await self.transport.get(
            f"/2/0/models/{self.ref.model_id}",
            ModelResponse,
            route="/2/0/models/{model}",
            params={"modelDetails": "true"},
        )
        return response.model

    async def status(self) -> RequestStatus:
        """``GET …/status``: what the model is doing (``currentStep`` "Processing ..." = busy)."""
        response = await self.transport.get(
            f"{self.ref.path}/status", ModelStatusResponse, route=_MODEL_ROUTE + "/status"
        )
        return response.requestStatus

    async def is_busy(self) -> bool:
        """Whether an action (ours, another user's, a CloudWorks run) holds the model now.

        Reads ``/status`` (``currentStep`` "Processing …") and the model's
        ``modelTransactionRunning`` flag (help 27b77b79 names both). A 409/423 answer also means
        busy.
        """
        try:
            status = await self.status()
            if status.currentStep.startswith("Processing"):
                return True
            return bool((await self.details()).modelTransactionRunning)
        except AnaplanBusy:
            return True

    # --- lists ----------------------------------------------------------------------------

    async def lists(self) -> list[ListSummary]:
        return await collect(
            paginate(
                self.transport,
                f"{self.ref.path}/lists",
                ListsPage,
                lambda page: page.lists,
                route=_MODEL_ROUTE + "/lists",
            )
        )

    async def find_list(self, name: str) -> ListSummary:
        return find_by_name(
            await self.lists(), name, lambda x: x.name, lambda x: x.id, "list", self._where
        )

    async def list_items(self, list_id: str) -> list[ListItem]:
        """Every member with its code, parent, properties and subsets (``includeAll=true``).

        Anaplan answers one unpaged document and refuses lists over 1,000,000 members with 400
        (those need a read request, which this client does not do).
        """
        response = await self.transport.get(
            f"{self.ref.path}/lists/{list_id}/items",
            ListItemsPage,
            route=_MODEL_ROUTE + "/lists/{list}/items",
            params={"includeAll": "true"},
        )
        return response.listItems

    # --- actions and files ----------------------------------------------------------------

    async def imports(self) -> list[Import]:
        return await collect(
            paginate(
                self.transport,
                f"{self.ref.path}/imports",
                ImportsPage,
                lambda page: page.imports,
                route=_MODEL_ROUTE + "/imports",
            )
        )

    async def find_import(self, name: str) -> Import:
        return find_by_name(
            await self.imports(), name, lambda x: x.name, lambda x: x.id, "import", self._where
        )

    async def import_metadata(self, import_id: str) -> ImportMetadata:
        """The import's source layout, with the ``headerNames`` the uploaded file must carry."""
        response = await self.transport.get(
            f"{self.ref.path}/imports/{import_id}",
            ImportMetadataResponse,
            route=_MODEL_ROUTE + "/imports/{import}",
        )
        return response.importMetadata

    async def exports(self) -> list[Export]:
        return await collect(
            paginate(
                self.transport,
                f"{self.ref.path}/exports",
                ExportsPage,
                lambda page: page.exports,
                route=_MODEL_ROUTE + "/exports",
            )
        )

    async def find_export(self, name: str) -> Export:
        return find_by_name(
            await self.exports(), name, lambda x: x.name, lambda x: x.id, "export", self._where
        )

    async def export_metadata(self, export_id: str) -> ExportMetadata:
        response = await self.transport.get(
            f"{self.ref.path}/exports/{export_id}",
            ExportMetadataResponse,
            route=_MODEL_ROUTE + "/exports/{export}",
        )
        return response.exportMetadata

    async def processes(self) -> list[Action]:
        return await collect(
            paginate(
                self.transport,
                f"{self.ref.path}/processes",
                ProcessesPage,
                lambda page: page.processes,
                route=_MODEL_ROUTE + "/processes",
            )
        )

    async def actions(self) -> list[Action]:
        return await collect(
            paginate(
                self.transport,
                f"{self.ref.path}/actions",
                ActionsPage,
                lambda page: page.actions,
                route=_MODEL_ROUTE + "/actions",
            )
        )

    async def files(self) -> list[File]:
        return await collect(
            paginate(
                self.transport,
                f"{self.ref.path}/files",
                FilesPage,
                lambda page: page.files,
                route=_MODEL_ROUTE + "/files",
            )
        )

    async def upload(
        self,
        file_id: str,
        source: file_ops.UploadSource,
        *,
        chunk_size: int = file_ops.DEFAULT_CHUNK_BYTES,
    ) -> int:
        """Upload ``source`` (a spool file or an async iterator of bytes).

        See :func:`mlc.anaplan.files.upload_file`.
        """
        return await file_ops.upload_file(
            self.transport, self.ref, file_id, source, chunk_size=chunk_size
        )

    def download_export(self, export_id: str) -> AsyncIterator[bytes]:
        return file_ops.download_export(self.transport, self.ref, export_id)

    def download_dump(
        self, action: ActionRef, task_id: str, object_id: str | None = None
    ) -> AsyncIterator[bytes]:
        return file_ops.download_dump(self.transport, self.ref, action, task_id, object_id)

    # --- tasks ----------------------------------------------------------------------------

    async def run(
        self, action: ActionRef, *, mapping_parameters: dict[str, str] | None = None
    ) -> Task:
        """Start ``action``; a lost answer never starts a second task.

        See :func:`mlc.anaplan.tasks.run_action`.
        """
        return await task_ops.run_action(
            self.transport, self.ref, action, mapping_parameters=mapping_parameters
        )

    async def task(self, action: ActionRef, task_id: str) -> Task:
        return await task_ops.get_task(self.transport, self.ref, action, task_id)

    async def list_tasks(self, action: ActionRef) -> list[Task]:
        return await task_ops.list_tasks(self.transport, self.ref, action)

    async def wait(
        self,
        action: ActionRef,
        task_id: str,
        clock: Clock,
        *,
        schedule: PollSchedule | None = None,
        max_failed_polls: int = 10,
        on_progress: task_ops.ProgressCallback | None = None,
    ) -> Task:
        """Poll until the task ends; see :func:`mlc.anaplan.tasks.poll_task`."""
        return await task_ops.poll_task(
            self.transport,
            self.ref,
            action,
            task_id,
            clock,
            schedule=schedule,
            max_failed_polls=max_failed_polls,
            on_progress=on_progress,
        )

    async def cancel(self, action: ActionRef, task_id: str) -> None:
        await task_ops.cancel_task(self.transport, self.ref, action, task_id)


def import_action(item: Import) -> ActionRef:
    return ActionRef(ActionKind.IMPORT, item.id, item.name)


def export_action(item: Export) -> ActionRef:
    return ActionRef(ActionKind.EXPORT, item.id, item.name)
