"""Upload, run, poll, cancel, dumps and export downloads against the emulator over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import anyio
import pytest

from mlc.anaplan.client import ModelClient, export_action, import_action
from mlc.anaplan.files import MAX_CHUNK_BYTES
from mlc.http import HttpServerError
from tests.clients.anaplan.support import (
    DrivenClock,
    Sandbox,
    anaplan_stack,
    collect_bytes,
    csv_rows,
    drive,
    serve_sandbox,
)

pytestmark = pytest.mark.anyio

TASKS_ROUTE = "/2/0/workspaces/{workspace_id}/models/{model_id}/{kind}/{action_id}/tasks"


async def gl_rows(model: ModelClient, sandbox: Sandbox) -> list[list[str]]:
    """Rows for Load GL Actuals built from the model's own members: eight good rows."""
    accounts = await model.list_items((await model.find_list("Accounts")).id)
    centers = await model.list_items((await model.find_list("Cost Centers")).id)
    year = int(sandbox.info["fiscal_year"]) % 100
    rows: list[list[str]] = []
    for account in accounts[:2]:
        for center in centers[:2]:
            for month in ("Jan", "Feb"):
                amount = f"{len(rows) * 100 + 12.5:.2f}"
                rows.append(
                    [account.code or "", center.code or "", f"{month} {year:02d}", "Actual", amount]
                )
    return rows


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_upload_import_poll_and_read_the_failure_dump() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack, anyio.create_task_group() as tg:
            tg.start_soon(partial(drive, clock, sandbox))
            model = stack.model
            load = await model.find_import("Load GL Actuals")
            header = (await model.import_metadata(load.id)).source
            assert header is not None
            good = await gl_rows(model, sandbox)
            bad = [["NO-SUCH-ACCOUNT", good[0][1], good[0][2], "Actual", "1.00"]]
            data = csv_bytes(header.headerNames, good + bad)

            sent = await model.upload(load.importDataSourceId, pieces(data, 37), chunk_size=100)
            task = await model.run(import_action(load))
            done = await model.wait(import_action(load), task.taskId, clock)
            assert done.result is not None
            dump = csv_rows(
                await collect_bytes(model.download_dump(import_action(load), task.taskId))
            )

            export = await model.find_export("Export GL Actuals")
            exported = await model.run(export_action(export))
            await model.wait(export_action(export), exported.taskId, clock)
            output = csv_rows(await collect_bytes(model.download_export(export.id)))
            metadata = await model.export_metadata(export.id)
            tg.cancel_scope.cancel()
        chunks = (await sandbox.counters())["counters"]["chunks_uploaded"]

    assert sent == -(-len(data) // 100) == chunks, "one PUT per 100-byte chunk"
    assert done.taskState == "COMPLETE" and done.result is not None
    assert done.result.successful and done.result.failureDumpAvailable
    assert any("NO-SUCH-ACCOUNT" in row for row in dump), dump
    assert len(dump) == 2, "the dump's header and the one rejected row"
    assert output[0] == metadata.headerNames
    written = {tuple(row[:4]): float(row[4]) for row in output[1:]}
    assert written == {tuple(row[:4]): float(row[4]) for row in good}


async def test_a_spool_file_is_uploaded_in_chunks_read_from_disk(tmp_path: Path) -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack, anyio.create_task_group() as tg:
            tg.start_soon(partial(drive, clock, sandbox))
            model = stack.model
            load = await model.find_import("Load GL Actuals")
            header = (await model.import_metadata(load.id)).source
            assert header is not None
            spool = tmp_path / "gl.csv"
            spool.write_bytes(csv_bytes(header.headerNames, await gl_rows(model, sandbox)))

            sent = await model.upload(load.importDataSourceId, spool, chunk_size=64)
            task = await model.run(import_action(load))
            done = await model.wait(import_action(load), task.taskId, clock)
            tg.cancel_scope.cancel()
        uploads = (await sandbox.counters())["counters"]

    assert sent == -(-spool.stat().st_size // 64) == uploads["chunks_uploaded"]
    assert done.result is not None and done.result.successful
    assert not done.result.failureDumpAvailable


async def test_a_chunk_size_over_anaplans_limit_is_refused_before_any_call() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            with pytest.raises(ValueError, match="chunk_size"):
                await stack.model.upload(
                    "113000000001", pieces(b"x", 1), chunk_size=MAX_CHUNK_BYTES + 1
                )


async def test_a_lost_answer_to_a_task_start_adopts_the_task_instead_of_starting_another() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack, anyio.create_task_group() as tg:
            tg.start_soon(partial(drive, clock, sandbox))
            action = import_action(await stack.model.find_import("Load GL Actuals"))
            await sandbox.fault(
                kind="drop", when="after", method="POST", route=r"/tasks$", host="api"
            )
            task = await stack.model.run(action)
            listed = await stack.model.list_tasks(action)
            done = await stack.model.wait(action, task.taskId, clock)
            tg.cancel_scope.cancel()
        posts = await sandbox.count(method="POST", route=TASKS_ROUTE)
        started = (await sandbox.counters())["counters"]["tasks_started"]

    assert [t.taskId for t in listed] == [task.taskId]
    assert posts == 1, "looked instead of posting again"
    assert started == 1
    assert done.taskState == "COMPLETE"


async def test_a_start_that_never_reached_anaplan_is_sent_again() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            action = import_action(await stack.model.find_import("Load GL Actuals"))
            await sandbox.fault(
                kind="drop", when="before", method="POST", route=r"/tasks$", host="api"
            )
            task = await stack.model.run(action)
            listed = await stack.model.list_tasks(action)
        posts = await sandbox.count(method="POST", route=TASKS_ROUTE)

    assert [t.taskId for t in listed] == [task.taskId]
    assert posts == 2, "nothing new in the task list, so the start was sent again"


async def test_cancel_a_running_task() -> None:
    async with serve_sandbox(task_base_seconds=300) as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack, anyio.create_task_group() as tg:
            action = import_action(await stack.model.find_import("Load GL Actuals"))
            task = await stack.model.run(action)
            await stack.model.cancel(action, task.taskId)
            tg.start_soon(partial(drive, clock, sandbox))
            done = await stack.model.wait(action, task.taskId, clock)
            tg.cancel_scope.cancel()

    assert done.taskState == "CANCELLED"
    assert done.result is None or not done.result.successful


async def test_polling_starts_fast_then_keeps_to_five_seconds_then_slows_down() -> None:
    async with serve_sandbox(task_base_seconds=120) as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack, anyio.create_task_group() as tg:
            action = import_action(await stack.model.find_import("Load GL Actuals"))
            task = await stack.model.run(action)
            tg.start_soon(partial(drive, clock, sandbox))
            done = await stack.model.wait(action, task.taskId, clock)
            waits = list(clock.sleeps)
            tg.cancel_scope.cancel()

    assert done.taskState == "COMPLETE"
    assert waits[:17] == [1.0] * 5 + [5.0] * 11 + [7.5], waits
    assert waits == sorted(waits) and max(waits) <= 30.0
    assert len(waits) <= 22, "a two-minute task takes a couple dozen polls, not hundreds"


async def test_polling_outlasts_a_few_failed_polls() -> None:
    async with serve_sandbox(task_base_seconds=60) as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack, anyio.create_task_group() as tg:
            action = import_action(await stack.model.find_import("Load GL Actuals"))
            task = await stack.model.run(action)
            # Six 503s: the HTTP layer's five attempts of the first poll, and one more.
            await sandbox.fault(
                kind="status", status=503, method="GET", route=r"/tasks/[0-9A-F]+$", count=6
            )
            tg.start_soon(partial(drive, clock, sandbox))
            done = await stack.model.wait(action, task.taskId, clock, max_failed_polls=2)
            tg.cancel_scope.cancel()
        refused = await sandbox.count(method="GET", route=TASKS_ROUTE + "/{task_id}", status=503)

    assert done.taskState == "COMPLETE"
    assert refused == 6


async def test_too_many_failed_polls_end_the_wait_with_the_last_error() -> None:
    async with serve_sandbox(task_base_seconds=600) as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack, anyio.create_task_group() as tg:
            action = import_action(await stack.model.find_import("Load GL Actuals"))
            task = await stack.model.run(action)
            await sandbox.fault(
                kind="status", status=503, method="GET", route=r"/tasks/[0-9A-F]+$", count=-1
            )
            tg.start_soon(partial(drive, clock, sandbox))
            with pytest.raises(HttpServerError, match="503"):
                await stack.model.wait(action, task.taskId, clock, max_failed_polls=2)
            tg.cancel_scope.cancel()
            await sandbox.control("DELETE", "/_sandbox/faults")
