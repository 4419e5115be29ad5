"""One action at a time per model, held data requests, CloudWorks locks, the tenant rate limit."""

from __future__ import annotations

from typing import Any

import aiohttp
import anyio
import pytest

from tests.sandbox.anaplan.support import Sandbox, SandboxFactory, start_task, task

pytestmark = pytest.mark.anyio


async def _action_ids(sb: Sandbox) -> tuple[str, str]:
    imports = (await sb.get_json(f"{sb.model_base}/imports"))["imports"]
    exports = (await sb.get_json(f"{sb.model_base}/exports"))["exports"]
    load = next(i["id"] for i in imports if i["name"] == "Load GL Actuals")
    export = next(e["id"] for e in exports if e["name"] == "Export Approved Budget")
    return load, export


async def _status(sb: Sandbox) -> dict[str, Any]:
    body = await sb.get_json(f"{sb.api}/models/{sb.info['model_id']}/status")
    assert set(body) == {"requestStatus"}, "the status body has no envelope"
    status: dict[str, Any] = body["requestStatus"]
    return status


async def test_a_second_task_waits_for_the_first(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(task_base_seconds=10.0) as sb:
        load, export = await _action_ids(sb)
        idle = await _status(sb)
        assert idle["progress"] == -1.0 and idle["currentStep"] == "Open" and idle["taskId"] is None
        first = await start_task(sb, "imports", load)
        second = await start_task(sb, "exports", export)
        assert (await task(sb, "imports", load, first))["taskState"] == "IN_PROGRESS"
        assert (await task(sb, "exports", export, second))["taskState"] == "NOT_STARTED"
        busy = await _status(sb)
        assert busy["currentStep"] == "Processing ..."
        assert busy["taskId"] == first
        assert "processing an Import" in busy["tooltip"]
        assert sb.info["user"] in busy["tooltip"]
        await sb.advance(10)
        assert (await task(sb, "imports", load, first))["taskState"] == "COMPLETE"
        assert (await task(sb, "exports", export, second))["taskState"] == "IN_PROGRESS"
        assert (await _status(sb))["taskId"] == second
        await sb.advance(10)
        assert (await task(sb, "exports", export, second))["taskState"] == "COMPLETE"
        counters = (await sb.counters())["counters"]
        assert counters["tasks_started"] == 2
        assert counters["max_concurrent_tasks"] == 1


async def test_another_users_task_holds_the_lock_and_is_listed(sandbox: Sandbox) -> None:
    load, _ = await _action_ids(sandbox)
    other = await sandbox.control(
        "POST", "/anaplan/other-user-task", {"action": "Load GL Actuals", "seconds": 30}
    )
    status = await _status(sandbox)
    assert status["taskId"] == other["taskId"]
    assert "planner@demo.example" in status["tooltip"]
    mine = await start_task(sandbox, "imports", load)
    assert (await task(sandbox, "imports", load, mine))["taskState"] == "NOT_STARTED"
    listed = (await sandbox.get_json(f"{sandbox.model_base}/imports/{load}/tasks"))["tasks"]
    assert [t["taskId"] for t in listed] == [other["taskId"], mine]
    model = (await sandbox.get_json(f"{sandbox.api}/models/{sandbox.info['model_id']}"))["model"]
    assert model["modelTransactionRunning"] is True
    await sandbox.advance(30)
    assert (await task(sandbox, "imports", load, mine))["taskState"] == "COMPLETE"
    assert (await sandbox.counters())["counters"]["max_concurrent_tasks"] == 1


async def test_data_requests_wait_while_the_model_is_busy(sandbox: Sandbox) -> None:
    await sandbox.control("POST", "/anaplan/other-user-task", {"seconds": 600})
    headers = await sandbox.headers()
    answered: list[int] = []

    async def read_lists() -> None:
        async with sandbox.http.get(f"{sandbox.model_base}/lists", headers=headers) as r:
            answered.append(r.status)

    async with anyio.create_task_group() as group:
        group.start_soon(read_lists)
        with anyio.fail_after(10):
            while True:
                held = (await sandbox.counters())["counters"].get("requests_held_by_busy_model")
                if held == 1:
                    break
                await anyio.sleep(0.01)
        # Action endpoints still answer while the data request is held.
        assert (await _status(sandbox))["currentStep"] == "Processing ..."
        assert answered == []
        await sandbox.advance(600)
    assert answered == [200]


async def test_cloudworks_run_holds_the_model_lock_and_is_visible(sandbox: Sandbox) -> None:
    load, _ = await _action_ids(sandbox)
    created = await sandbox.control("POST", "/faults", {"kind": "cloudworks_lock", "seconds": 45})
    integrations = (await sandbox.get_json(f"{sandbox.cloudworks}/integrations"))["integrations"]
    running = next(i for i in integrations if i["integrationId"] == created["integration_id"])
    assert running["modelId"] == sandbox.info["model_id"]
    assert running["latestRun"]["message"] == "Running"
    assert "endDate" not in running["latestRun"]
    assert (await _status(sandbox))["currentStep"] == "Processing ..."
    mine = await start_task(sandbox, "imports", load)
    assert (await task(sandbox, "imports", load, mine))["taskState"] == "NOT_STARTED"
    run = await sandbox.get_json(f"{sandbox.cloudworks}/integrations/run/{created['run_id']}")
    assert run["run"]["integrationId"] == created["integration_id"]
    await sandbox.advance(45)
    assert (await task(sandbox, "imports", load, mine))["taskState"] == "COMPLETE"
    integration = await sandbox.get_json(
        f"{sandbox.cloudworks}/integrations/{created['integration_id']}"
    )
    latest = integration["integration"]["latestRun"]
    assert latest["message"] == "Success" and latest["success"] is True and "endDate" in latest


async def test_601st_request_in_a_minute_is_429(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(rate_limit_per_minute=600) as sb:
        headers = await sb.headers()  # request 1: /token/authenticate counts too
        url = f"{sb.api}/workspaces"

        async def one() -> int:
            async with sb.http.get(url, headers=headers) as r:
                await r.read()
                return r.status

        statuses: list[int] = []
        for _ in range(599 // 50 + 1):
            batch = min(50, 599 - len(statuses))
            results: list[int] = []

            async def record(results: list[int] = results) -> None:
                results.append(await one())

            async with anyio.create_task_group() as group:
                for _ in range(batch):
                    group.start_soon(record)
            statuses.extend(results)
        assert statuses == [200] * 599
        async with sb.http.get(url, headers=headers) as r:
            assert r.status == 429
            body = await r.json()
            assert "Retry-After" not in r.headers
        assert body["status"] == {"code": 429, "message": "Too Many Requests"}
        async with sb.http.get(f"{sb.cloudworks}/integrations", headers=headers) as r:
            assert r.status == 429, "the limit is per tenant across all hosts"
        async with sb.http.post(f"{sb.auth}/token/authenticate", headers=sb.basic()) as r:
            assert r.status == 429
        await sb.advance(61)
        assert await one() == 200
        snapshot = await sb.counters()
        limited = [
            row for row in snapshot["requests"] if row["status"] == 429 and row["host"] == "api"
        ]
        assert limited == [
            {"host": "api", "method": "GET", "route": "/2/0/workspaces", "status": 429, "count": 1}
        ]


async def test_retry_after_can_be_switched_on(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(rate_limit_per_minute=3, rate_limit_retry_after=True) as sb:
        headers = await sb.headers()
        for expected in (200, 200, 429):
            async with sb.http.get(f"{sb.api}/workspaces", headers=headers) as r:
                assert r.status == expected
        assert 1 <= int(r.headers["Retry-After"]) <= 60


async def test_rate_limit_storm_fault(sandbox: Sandbox) -> None:
    headers = await sandbox.headers()
    await sandbox.control("POST", "/faults", {"kind": "rate_limit_storm", "count": 2})
    seen = []
    for _ in range(3):
        async with sandbox.http.get(f"{sandbox.api}/workspaces", headers=headers) as r:
            seen.append(r.status)
    assert seen == [429, 429, 200]
    await sandbox.control("POST", "/faults", {"kind": "rate_limit_storm", "count": -1})
    await sandbox.control("DELETE", "/faults")
    async with sandbox.http.get(f"{sandbox.api}/workspaces", headers=headers) as r:
        assert r.status == 200


async def test_generic_faults_apply_to_anaplan_hosts(sandbox: Sandbox) -> None:
    headers = await sandbox.headers()
    await sandbox.control(
        "POST", "/faults", {"kind": "status", "status": 503, "count": 1, "host": "api"}
    )
    async with sandbox.http.get(f"{sandbox.api}/workspaces", headers=headers) as r:
        assert r.status == 503
    await sandbox.control("POST", "/faults", {"kind": "drop", "count": 1, "host": "api"})
    status_url = f"{sandbox.api}/models/{sandbox.info['model_id']}/status"
    with pytest.raises(aiohttp.ClientError):
        async with sandbox.http.post(status_url, headers=headers) as r:
            await r.read()
    dropped = [row for row in (await sandbox.counters())["requests"] if row["status"] == 0]
    assert [row["route"] for row in dropped] == ["/2/0/models/{model_id}/status"]
    async with sandbox.http.get(f"{sandbox.api}/workspaces", headers=headers) as r:
        assert r.status == 200


async def test_injected_task_failures(sandbox: Sandbox) -> None:
    load, export = await _action_ids(sandbox)
    await sandbox.control(
        "POST", "/faults", {"kind": "task_failure", "mode": "fail", "action": export}
    )
    failed = await start_task(sandbox, "exports", export)
    result = (await task(sandbox, "exports", export, failed))["result"]
    assert result["successful"] is False
    again = await start_task(sandbox, "exports", export)
    assert (await task(sandbox, "exports", export, again))["result"]["successful"] is True
    await sandbox.control(
        "POST",
        "/faults",
        {"kind": "task_failure", "mode": "partial", "every": 1, "action": "Load GL Actuals"},
    )
    base = f"{sandbox.model_base}/files/113000000003"
    h = await sandbox.headers()
    year = sandbox.info["fiscal_year"] % 100
    async with sandbox.http.post(base, headers=h, json={"chunkCount": 1}) as r:
        assert r.status == 200
    content = f"Account,Cost Center,Period,Version,Amount\n6100,21,Jan {year},Actual,1\n".encode()
    async with sandbox.http.put(
        f"{base}/chunks/0", data=content, headers={**h, "Content-Type": "application/octet-stream"}
    ) as r:
        assert r.status == 204
    partial = await start_task(sandbox, "imports", load)
    result = (await task(sandbox, "imports", load, partial))["result"]
    assert result["successful"] is True and result["failureDumpAvailable"] is True


async def test_reset_restores_the_seed(sandbox: Sandbox) -> None:
    first_model = sandbox.info["model_id"]
    token = await sandbox.login()
    await sandbox.control("POST", "/anaplan/other-user-task", {"seconds": 100})
    await sandbox.control("POST", "/reset")
    assert (await _status(sandbox))["currentStep"] == "Open", "the lock is gone after a reset"
    async with sandbox.http.get(
        f"{sandbox.api}/workspaces", headers={"Authorization": f"AnaplanAuthToken {token}"}
    ) as r:
        assert r.status == 401, "tokens do not survive a reset"
    assert sandbox.emulator.describe(sandbox.urls)["model_id"] == first_model
