"""CloudWorks host: integrations, runs, run history, cancel and the documented error answers."""

from __future__ import annotations

import pytest

from tests.sandbox.anaplan.support import Sandbox

pytestmark = pytest.mark.anyio


async def test_integrations_are_listed_with_their_latest_run(sandbox: Sandbox) -> None:
    body = await sandbox.get_json(f"{sandbox.cloudworks}/integrations")
    assert body["status"] == {"code": 200, "message": "Success"}
    assert body["meta"]["paging"]["totalSize"] == 2
    assert body["meta"]["tenantCurrentCount"] == 2
    for integration in body["integrations"]:
        assert integration["modelId"] == sandbox.info["model_id"]
        assert len(integration["integrationId"]) == 32
        assert integration["latestRun"]["success"] is True
        assert integration["latestRun"]["endDate"].endswith("Z")
    page = await sandbox.get_json(f"{sandbox.cloudworks}/integrations?offset=5&limit=5")
    assert page["integrations"] == [], "CloudWorks keeps empty arrays"


async def test_run_cancel_and_history(sandbox: Sandbox) -> None:
    integrations = (await sandbox.get_json(f"{sandbox.cloudworks}/integrations"))["integrations"]
    integration_id = integrations[0]["integrationId"]
    base = f"{sandbox.cloudworks}/integrations/{integration_id}"
    headers = await sandbox.headers()
    async with sandbox.http.post(f"{base}/cancel", headers=headers) as r:
        assert r.status == 409
        assert "is not in running state" in (await r.json())["status"]["message"]
    async with sandbox.http.post(f"{base}/run", headers=headers) as r:
        assert r.status == 200
        run_id = (await r.json())["run"]["id"]
    async with sandbox.http.post(f"{base}/run", headers=headers) as r:
        assert r.status == 409
    status = await sandbox.get_json(f"{sandbox.cloudworks}/integrations/run/{run_id}")
    assert status["run"]["message"] == "Running"
    async with sandbox.http.post(f"{base}/cancel", headers=headers) as r:
        assert r.status == 200
    history = await sandbox.get_json(
        f"{sandbox.cloudworks}/integrations/runs/{integration_id}?offset=0&limit=10"
    )
    runs = history["history_of_runs"]["runs"]
    assert runs[0]["id"] == run_id
    assert runs[0]["message"] == "Cancelled" and runs[0]["success"] is False
    assert history["history_of_runs"]["totalRuns"] == 2
    await sandbox.get_json(f"{sandbox.cloudworks}/integrations/runs/{integration_id}", 400)
    errors = await sandbox.get_json(f"{sandbox.cloudworks}/integrations/runerror/{run_id}")
    assert errors["runs"] == {}
    dumps = await sandbox.get_json(f"{sandbox.cloudworks}/integrations/run/{run_id}/dumps", 404)
    assert dumps["status"]["code"] == 404
    async with sandbox.http.get(f"{sandbox.cloudworks}/integrations") as r:
        assert r.status == 401
