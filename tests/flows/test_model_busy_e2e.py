"""Acceptance 4: a CloudWorks run holding the model delays the import, which then succeeds, and
the model never runs two actions at once."""

from __future__ import annotations

import anyio
import pytest

from mlc.messages import RunFinished

pytestmark = pytest.mark.anyio


async def test_cloudworks_run_delays_the_import_without_failing_or_overlapping(inbound) -> None:
    async with inbound.tree() as tree:
        await inbound.control("anaplan", "faults", {"kind": "cloudworks_lock", "seconds": 3600})
        await inbound.reset_counters("anaplan")
        results: list[RunFinished] = []

        async def run() -> None:
            results.extend(await tree.run_flows(["gl-actuals"]))

        async def looked_at_cloudworks_three_times() -> bool:
            return await inbound.count("GET", "/2/0/integrations", role="cloudworks") >= 3

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await inbound.wait_until(looked_at_cloudworks_three_times)
            # While the CloudWorks run holds the model: nothing uploaded, no task started.
            assert await inbound.count("PUT", "/chunks/{chunk_id}") == 0
            assert await inbound.count("POST", "/tasks") == 0
            assert not results
            await inbound.advance(3600)  # the CloudWorks run ends (sandbox clock)
        [result] = results
    assert result.status == "partial", result.error  # partial: codes Anaplan lacks, see test 3
    assert result.tally.failed == 0 and result.tally.loaded > 0
    assert await inbound.count("POST", "/tasks") == 1
    counters = await inbound.domain_counters("anaplan")
    assert counters.get("max_concurrent_tasks", 0) <= 1
    assert counters.get("tasks_started", 0) >= 1


async def test_model_busy_longer_than_allowed_fails_the_run_with_nothing_sent(inbound) -> None:
    from msgspec.structs import replace

    spec = inbound.config.flows["gl-actuals"]
    options = dict(spec.options)
    options["busy_timeout_seconds"] = 0.5
    inbound.config = replace(
        inbound.config, flows={**inbound.config.flows, "gl-actuals": replace(spec, options=options)}
    )
    async with inbound.tree() as tree:
        await inbound.control("anaplan", "faults", {"kind": "cloudworks_lock", "seconds": 3600})
        await inbound.reset_counters("anaplan")
        [result] = await tree.run_flows(["gl-actuals"])
    assert result.status == "failed"
    assert result.error is not None
    assert "stayed busy" in result.error and "CloudWorks integration" in result.error
    assert "nothing was uploaded" in result.error
    assert await inbound.count("PUT", "/chunks/{chunk_id}") == 0
    assert await inbound.count("POST", "/tasks") == 0
    assert await inbound.store.get_watermark("gl-actuals") is None
