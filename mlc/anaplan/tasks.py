"""Running an action, watching its task, cancelling it (reference §2 "Run / poll / cancel").

* Run: ``POST …/{imports|exports|actions|processes}/{id}/tasks {"localeName": "en_US"}`` → the
  task (``taskId``, ``taskState`` NOT_STARTED). Starting a task is not idempotent: a second POST
  starts a second import. When the answer is lost (:class:`~mlc.http.OutcomeUnknown`), this module
  **looks before retrying**: it lists the action's tasks and adopts one that did not exist before
  the attempt. The "before" is a listing taken just before the POST, so the comparison uses the
  server's own task ids and clock, never ours. The price is one GET per run; the risk left is
  adopting a task that another user started on the same action in the same instant.
* Poll: ``GET …/tasks/{taskId}`` until COMPLETE or CANCELLED, on :class:`PollSchedule`'s cadence
  (injected clock), tolerating a bounded run of failed polls (Anaplan Connect tolerates 30).
  COMPLETE means *finished*: success or failure is ``result.successful``.
* Cancel: ``DELETE`` on the task's URL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from mlc.anaplan.ids import ActionRef, ModelRef
from mlc.anaplan.models import Task, TaskResponse, TasksPage
from mlc.anaplan.paging import collect, paginate
from mlc.anaplan.polling import PollSchedule
from mlc.anaplan.transport import AnaplanTransport
from mlc.http import ConnectionFailed, HttpServerError, OutcomeUnknown, RateLimited
from mlc.runtime.clock import Clock

log = logging.getLogger("mlc.anaplan")

#: Failures of a poll that say nothing about the task: the next poll may well succeed.
TRANSIENT_POLL_ERRORS = (ConnectionFailed, HttpServerError, RateLimited)

ProgressCallback = Callable[[Task], Awaitable[None]]


def tasks_url(model: ModelRef, action: ActionRef) -> str:
    return f"{model.path}/{action.kind.value}/{action.id}/tasks"


def tasks_route(action: ActionRef) -> str:
    return f"/2/0/workspaces/{{workspace}}/models/{{model}}/{action.kind.value}/{{id}}/tasks"


async def list_tasks(transport: AnaplanTransport, model: ModelRef, action: ActionRef) -> list[Task]:
    """The action's tasks, newest first where the server sorts them."""
    return await collect(
        paginate(
            transport,
            tasks_url(model, action),
            TasksPage,
            lambda page: page.tasks,
            route=tasks_route(action),
            params={"sort": "-creationTime"},
        )
    )


async def get_task(
    transport: AnaplanTransport, model: ModelRef, action: ActionRef, task_id: str
) -> Task:
    response = await transport.get(
        f"{tasks_url(model, action)}/{task_id}",
        TaskResponse,
        route=tasks_route(action) + "/{task}",
    )
    return response.task


async def run_action(
    transport: AnaplanTransport,
    model: ModelRef,
    action: ActionRef,
    *,
    locale: str = "en_US",
    mapping_parameters: dict[str, str] | None = None,
    max_attempts: int = 3,
) -> Task:
    """Start one task of ``action`` and return it (see the module docs for a lost answer).

    :param mapping_parameters: import-time choices, ``{"Version": "Actual"}``.
    :raises OutcomeUnknown: every attempt's answer was lost and no new task appeared.
    """
    body: dict[str, object] = {"localeName": locale}
    if mapping_parameters:
        body["mappingParameters"] = [
            {"entityType": entity, "entityName": name}
            for entity, name in mapping_parameters.items()
        ]
    before = {task.taskId for task in await list_tasks(transport, model, action)}
    lost: OutcomeUnknown | None = None
    for _ in range(max_attempts):
        try:
            response = await transport.request(
                "POST",
                tasks_url(model, action),
                route=tasks_route(action),
                json=body,
                idempotent=False,
            )
        except OutcomeUnknown as error:
            lost = error
            adopted = await _new_task(transport, model, action, before)
            if adopted is not None:
                log.warning(
                    "anaplan_task_adopted",
                    extra={"connection": transport.connection, "action": action.id},
                )
                return adopted
            log.warning(
                "anaplan_task_start_lost",
                extra={"connection": transport.connection, "action": action.id},
            )
            continue
        task: Task = response.json(TaskResponse).task
        log.info(
            "anaplan_task_started",
            extra={"connection": transport.connection, "action": action.id, "task": task.taskId},
        )
        return task
    assert lost is not None
    raise lost


async def _new_task(
    transport: AnaplanTransport, model: ModelRef, action: ActionRef, before: set[str]
) -> Task | None:
    new = [task for task in await list_tasks(transport, model, action) if task.taskId not in before]
    if not new:
        return None
    return max(new, key=lambda task: task.creationTime)


async def poll_task(
    transport: AnaplanTransport,
    model: ModelRef,
    action: ActionRef,
    task_id: str,
    clock: Clock,
    *,
    schedule: PollSchedule | None = None,
    max_failed_polls: int = 10,
    on_progress: ProgressCallback | None = None,
) -> Task:
    """Wait for the task to end and return it (COMPLETE or CANCELLED, with its result).

    :raises: the last poll's error after ``max_failed_polls`` transient failures in a row, or at
        once for any other error (the task is gone, access was lost).
    """
    schedule = schedule or PollSchedule()
    started = clock.monotonic()
    previous: float | None = None
    failures = 0
    while True:
        delay = schedule.delay(clock.monotonic() - started, previous)
        previous = delay
        await clock.sleep(delay)
        try:
            task = await get_task(transport, model, action, task_id)
        except TRANSIENT_POLL_ERRORS as error:
            failures += 1
            log.warning(
                "anaplan_poll_failed",
                extra={
                    "connection": transport.connection,
                    "failures": failures,
                    "error": type(error).__name__,
                },
            )
            if failures >= max_failed_polls:
                raise
            continue
        failures = 0
        if task.terminal:
            return task
        if on_progress is not None:
            await on_progress(task)


async def cancel_task(
    transport: AnaplanTransport, model: ModelRef, action: ActionRef, task_id: str
) -> None:
    """Ask Anaplan to cancel the task; it goes through CANCELLING to CANCELLED (poll to see)."""
    await transport.request(
        "DELETE",
        f"{tasks_url(model, action)}/{task_id}",
        route=tasks_route(action) + "/{task}",
    )
