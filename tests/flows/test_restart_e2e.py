"""Exactly-once inbound: a crash while the Anaplan import runs, then a restart that reattaches to
that import instead of uploading and starting another, and finishes the interrupted run.

Anaplan tasks here last an hour of sandbox time, so the import is certainly still running when
the tree is torn down (the "crash"); the test ends it by moving the sandbox clock.
"""

from __future__ import annotations

import anyio
import pytest

from mlc.messages import RunFinished
from mlc.sandbox.anaplan import AnaplanOptions
from mlc.sandbox.epicor import EpicorOptions

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox_options() -> tuple[AnaplanOptions, EpicorOptions]:
    return AnaplanOptions(task_base_seconds=3600.0, task_seconds_per_row=0.0), EpicorOptions()


async def test_restart_reattaches_to_the_running_import(inbound) -> None:
    store = inbound.store

    async def task_persisted() -> bool:
        return bool(await store.open_anaplan_tasks())

    with anyio.CancelScope() as crash:
        async with inbound.tree() as tree, anyio.create_task_group() as tg:
            tg.start_soon(tree.run_flows, ["gl-actuals"])
            await inbound.wait_until(task_persisted)
            crash.cancel()
    assert crash.cancelled_caught

    [open_task] = await store.open_anaplan_tasks()
    [interrupted] = await store.list_runs(flow="gl-actuals")
    assert interrupted.status == "running"
    assert open_task.run_id == interrupted.id
    assert await store.get_watermark("gl-actuals") is None
    assert await inbound.count("POST", "/tasks") == 1
    uploaded_chunks = await inbound.count("PUT", "/chunks/{chunk_id}")
    assert uploaded_chunks >= 1
    # What `mlc run` does when it starts again.
    assert await store.interrupt_running_runs("the process stopped") == [interrupted.id]

    results: list[RunFinished] = []
    polls_before = await inbound.count("GET", "/tasks/{task_id}")

    async def reattached_and_polling() -> bool:
        return await inbound.count("GET", "/tasks/{task_id}") > polls_before

    async with inbound.tree() as tree:

        async def run() -> None:
            results.extend(await tree.run_flows(["gl-actuals"]))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await inbound.wait_until(reattached_and_polling)
            await inbound.advance(3600)  # the import finishes
    [second] = results

    # No second upload, no second import: the restart adopted the running task.
    assert await inbound.count("POST", "/tasks") == 1
    assert await inbound.count("PUT", "/chunks/{chunk_id}") == uploaded_chunks
    assert await store.open_anaplan_tasks() == []

    resumed = await store.get_run(interrupted.id)
    assert resumed is not None
    assert resumed.status == "partial"  # loaded, with the cells on codes Anaplan lacks held back
    assert resumed.error is not None and "reattached" in resumed.error
    assert resumed.counts.loaded > 0 and resumed.counts.failed == 0
    loaded = await store.records_for_run(interrupted.id, status="ok")
    assert len(loaded) == resumed.counts.loaded
    assert await store.get_watermark("gl-actuals") is not None

    # The new run found nothing new (the watermark was committed for the resumed run) and only
    # retried the quarantined cells, which are still unmapped.
    assert second.status == "partial", second.error
    assert second.tally.loaded == 0
    assert second.tally.quarantined == resumed.counts.quarantined > 0
