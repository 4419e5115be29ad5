"""The AnaplanModelActor: one per model; owns the model's lock and its in-flight task ids.

One action at a time: the actor handles one message at a time, and every message that runs an
action (an import, an export) goes through these steps:

1. **Settle tasks left open.** Task ids are persisted (``anaplan_tasks``) as soon as Anaplan
   returns them and before polling, so tasks a crashed process (or an interrupted handler) left
   behind are found here: each is polled to its end and its final state recorded, instead of a
   second task being started beside it. A task left open by the *same run* for the *same
   import* — the answer was lost, the run asked again — is adopted: its result is the answer, and
   nothing is uploaded or started again.
2. **Wait while the model is busy** — another user's action, a CloudWorks run (``/status``
   "Processing …", ``modelTransactionRunning``, an active CloudWorks integration on the model):
   polled every ``busy_poll_seconds`` on the injected clock, for at most the request's
   ``busy_timeout``; then :class:`ModelBusyTimeout` says who holds the model and that nothing was
   uploaded. Waiting here rather than letting Anaplan queue our task keeps our upload from
   replacing a file a running import still reads, and gives the operator a clear outcome.
3. Upload (the client gzip-compresses chunks of at most 50 MB), start the task, **persist its id**,
   poll with capped backoff, record its final state.
4. Read the result: ``successful``, the details, and the failure dump (rows the import rejected,
   by line in the uploaded file).

Metadata reads need no waiting (Anaplan answers action and import metadata calls on a busy
model). List reads *do* wait on a locked model — the request stays open until the lock is gone
(help 27b77b79) — so the actor first waits for the model to be free, like for an action, and
they share the mailbox, so they never overlap an action of this connector.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from mlc.anaplan.client import AnaplanClient, ModelClient, export_action, import_action
from mlc.anaplan.cloudworks import CloudWorksClient
from mlc.anaplan.errors import AnaplanNotFound
from mlc.anaplan.ids import ActionRef
from mlc.anaplan.models import Task
from mlc.anaplan.polling import PollSchedule
from mlc.errors import MlcError
from mlc.flows.dump import read_failures
from mlc.messages import (
    AnaplanModelMessage,
    BatchLoaded,
    ExportedFile,
    GetImportHeaders,
    ListMember,
    LoadFile,
    ReadListMembers,
    RunExport,
)
from mlc.runtime import Actor, Clock
from mlc.store import Store

log = logging.getLogger("mlc.anaplan")


class ModelBusyTimeout(MlcError):
    """The model stayed busy longer than allowed; nothing was uploaded or started."""


class AnaplanActionFailed(MlcError):
    """An export (or another action whose output is needed) did not complete successfully."""


@dataclass(frozen=True)
class ModelSettings:
    #: How often to look whether a busy model is free again.
    busy_poll_seconds: float = 15.0
    #: Cadence of task polls (Anaplan asks for at most one every 5 s once past the first ones).
    poll: PollSchedule = field(default_factory=PollSchedule)
    #: Transient poll failures in a row before giving up on a task (it keeps running; the id is
    #: kept, so the next action reattaches to it).
    max_failed_polls: int = 10
    #: Also ask CloudWorks whether an integration is running on the model.
    check_cloudworks: bool = True


class AnaplanModelActor(Actor[AnaplanModelMessage]):
    """See the module docs; ``connection`` is ``anaplan.fpa``."""

    def __init__(
        self,
        *,
        connection: str,
        client: AnaplanClient,
        cloudworks: CloudWorksClient | None,
        workspace: str,
        model: str,
        store: Store,
        clock: Clock,
        settings: ModelSettings | None = None,
    ) -> None:
        self._connection = connection
        self._client = client
        self._cloudworks = cloudworks
        self._workspace = workspace
        self._model_name = model
        self._store = store
        self._clock = clock
        self._settings = settings or ModelSettings()
        self._model: ModelClient | None = None

    async def receive(self, msg: AnaplanModelMessage) -> Any:
        match msg:
            case ReadListMembers(list_name=name, busy_timeout=busy_timeout):
                model = await self._resolved()
                await self._wait_until_free(model, busy_timeout)
                found = await model.find_list(name)
                return tuple(
                    ListMember(code=item.code or item.name, name=item.name)
                    for item in await model.list_items(found.id)
                )
            case GetImportHeaders(import_name=name):
                model = await self._resolved()
                item = await model.find_import(name)
                metadata = await model.import_metadata(item.id)
                return tuple(metadata.source.headerNames) if metadata.source else ()
            case LoadFile():
                return await self._load(msg)
            case RunExport():
                return await self._export(msg)

    # --- steps shared by every action -----------------------------------------------------

    async def _resolved(self) -> ModelClient:
        if self._model is None:
            ref = await self._client.resolve(self._workspace, self._model_name)
            self._model = self._client.model(ref)
        return self._model

    def _describe(self) -> str:
        return f"{self._connection} model {self._model_name!r}"

    async def _settle_open_tasks(
        self, model: ModelClient, run_id: int | None, action: ActionRef
    ) -> Task | None:
        """Poll every task left open on this model to its end; the one to adopt, if any."""
        adopted: Task | None = None
        for open_task in await self._store.open_anaplan_tasks(model.ref.model_id):
            ref = ActionRef.from_id(open_task.action_id)
            log.info(
                "anaplan_task_reattached",
                extra={
                    "connection": self._connection,
                    "action": open_task.action_id,
                    "task": open_task.task_id,
                    "run_id": open_task.run_id,
                },
            )
            try:
                task = await model.wait(
                    ref,
                    open_task.task_id,
                    self._clock,
                    schedule=self._settings.poll,
                    max_failed_polls=self._settings.max_failed_polls,
                )
                state = task.taskState
            except AnaplanNotFound:
                task, state = None, "GONE"
            await self._store.finish_anaplan_task(
                model_id=open_task.model_id,
                action_id=open_task.action_id,
                task_id=open_task.task_id,
                state=state,
            )
            same = open_task.action_id == action.id and run_id is not None
            if task is not None and same and open_task.run_id == run_id:
                adopted = task
        return adopted

    async def _wait_until_free(self, model: ModelClient, limit: float) -> float:
        """Seconds waited until the model was free; :class:`ModelBusyTimeout` after ``limit``."""
        started = self._clock.monotonic()
        announced = False
        while True:
            holder = await self._holder(model)
            waited = self._clock.monotonic() - started
            if holder is None:
                if announced:
                    log.info(
                        "anaplan_model_free",
                        extra={"connection": self._connection, "waited_seconds": round(waited, 3)},
                    )
                return waited
            if not announced:
                announced = True
                log.info(
                    "anaplan_model_busy",
                    extra={"connection": self._connection, "holder": holder},
                )
            if waited >= limit:
                raise ModelBusyTimeout(
                    f"{self._describe()} stayed busy for {waited:.0f} s, longer than the "
                    f"{limit:g} s allowed ({holder}); nothing was uploaded or started"
                )
            await self._clock.sleep(min(self._settings.busy_poll_seconds, limit - waited))

    async def _holder(self, model: ModelClient) -> str | None:
        """Who holds the model now (for messages), or ``None`` when it is free."""
        if self._cloudworks is not None and self._settings.check_cloudworks:
            running = await self._cloudworks.active_on_model(model.ref.model_id)
            if running:
                names = ", ".join(repr(item.name) for item in running)
                return f"CloudWorks integration {names} running"
        if await model.is_busy():
            status = await model.status()
            tooltip = (status.tooltip or "").strip()
            first = tooltip.splitlines()[0] if tooltip else ""
            return first or status.currentStep or "an action is running"
        return None

    async def _start(
        self, model: ModelClient, action: ActionRef, run_id: int | None, flow: str | None
    ) -> Task:
        task = await model.run(action)
        await self._store.save_anaplan_task(
            model_id=model.ref.model_id,
            action_id=action.id,
            task_id=task.taskId,
            state=task.taskState,
            run_id=run_id,
            flow=flow,
        )
        return await self._finish(model, action, task.taskId)

    async def _finish(self, model: ModelClient, action: ActionRef, task_id: str) -> Task:
        task = await model.wait(
            action,
            task_id,
            self._clock,
            schedule=self._settings.poll,
            max_failed_polls=self._settings.max_failed_polls,
        )
        await self._store.finish_anaplan_task(
            model_id=model.ref.model_id, action_id=action.id, task_id=task_id, state=task.taskState
        )
        log.info(
            "anaplan_task_finished",
            extra={
                "connection": self._connection,
                "action": action.id,
                "task": task_id,
                "state": task.taskState,
                "successful": bool(task.result and task.result.successful),
            },
        )
        return task

    # --- imports ---------------------------------------------------------------------------

    async def _load(self, msg: LoadFile) -> BatchLoaded:
        model = await self._resolved()
        item = await model.find_import(msg.import_name)
        action = import_action(item)
        adopted = await self._settle_open_tasks(model, msg.run_id, action)
        if adopted is not None:
            return await self._outcome(model, action, adopted, waited=0.0, reattached=True)
        if not item.importDataSourceId:
            raise MlcError(
                f"{self._describe()}: import {msg.import_name!r} has no data source file to "
                "upload into (it is not a file import)"
            )
        waited = await self._wait_until_free(model, msg.busy_timeout)
        chunks = await model.upload(
            item.importDataSourceId, Path(msg.spool.path), chunk_size=msg.spool.chunk_bytes
        )
        log.info(
            "anaplan_file_uploaded",
            extra={
                "connection": self._connection,
                "file": item.importDataSourceId,
                "rows": msg.spool.rows,
                "bytes": msg.spool.size,
                "chunks": chunks,
            },
        )
        task = await self._start(model, action, msg.run_id, msg.flow)
        return await self._outcome(model, action, task, waited=waited, reattached=False)

    async def _outcome(
        self, model: ModelClient, action: ActionRef, task: Task, *, waited: float, reattached: bool
    ) -> BatchLoaded:
        result = task.result
        successful = task.taskState == "COMPLETE" and result is not None and result.successful
        details = tuple(d.localMessageText.strip() for d in (result.details if result else ()))
        failures: tuple[Any, ...] = ()
        if successful and result is not None and result.failureDumpAvailable:
            failures = await self._failures(model, action, task.taskId)
        if task.taskState == "CANCELLED":
            details = (*details, "the task was cancelled; Anaplan rolled its changes back")
        return BatchLoaded(
            import_name=action.name,
            task_id=task.taskId,
            successful=successful,
            failures=failures,
            details=details,
            waited_seconds=waited,
            reattached=reattached,
        )

    async def _failures(
        self, model: ModelClient, action: ActionRef, task_id: str
    ) -> tuple[Any, ...]:
        with tempfile.TemporaryDirectory(prefix="mlc-dump-") as directory:
            path = Path(directory) / "dump.csv"
            async with await anyio.open_file(path, "wb") as file:
                async for piece in model.download_dump(action, task_id):
                    await file.write(piece)
            return tuple(read_failures(path))

    # --- exports ---------------------------------------------------------------------------

    async def _export(self, msg: RunExport) -> ExportedFile:
        model = await self._resolved()
        item = await model.find_export(msg.export_name)
        action = export_action(item)
        await self._settle_open_tasks(model, None, action)
        await self._wait_until_free(model, msg.busy_timeout)
        task = await self._start(model, action, None, None)
        if task.taskState != "COMPLETE" or task.result is None or not task.result.successful:
            details = "; ".join(
                d.localMessageText for d in (task.result.details if task.result else ())
            )
            raise AnaplanActionFailed(
                f"{self._describe()}: export {msg.export_name!r} task {task.taskId} ended "
                f"{task.taskState} without success{': ' + details if details else ''}"
            )
        destination = Path(msg.destination)
        size = 0
        async with await anyio.open_file(destination, "wb") as file:
            async for piece in model.download_export(item.id):
                await file.write(piece)
                size += len(piece)
        return ExportedFile(
            export_name=msg.export_name, path=str(destination), task_id=task.taskId, bytes=size
        )
