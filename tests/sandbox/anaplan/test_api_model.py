"""Integration API metadata and model data: envelopes, paging, lists, modules, cells, errors."""

from __future__ import annotations

from typing import Any

import pytest

from mlc.sandbox.common import chart
from tests.sandbox.anaplan.support import Sandbox, by_name

pytestmark = pytest.mark.anyio


async def test_workspaces_and_models_use_the_documented_ids(sandbox: Sandbox) -> None:
    workspaces = (await sandbox.get_json(f"{sandbox.api}/workspaces?tenantDetails=true"))[
        "workspaces"
    ]
    workspace = by_name(workspaces, "FP&A")
    assert workspace["id"] == workspace["id"].lower() and len(workspace["id"]) == 32
    assert "sizeAllowance" in workspace
    models = (await sandbox.get_json(f"{sandbox.api}/workspaces/{workspace['id']}/models"))[
        "models"
    ]
    model = by_name(models, "Operating Plan")
    assert model["id"] == model["id"].upper() and len(model["id"]) == 32
    assert model["currentWorkspaceId"] == workspace["id"]
    assert model["activeState"] == "UNLOCKED"
    detail = await sandbox.get_json(f"{sandbox.api}/models/{model['id']}?modelDetails=true")
    assert detail["model"]["memoryUsage"] > 0
    body = await sandbox.get_json(
        f"{sandbox.api}/workspaces/{workspace['id']}/models/{model['id']}", 405
    )
    assert body["status"] == {"code": 405, "message": "Method Not Allowed"}
    bad = await sandbox.get_json(f"{sandbox.api}/models?sort=name", 400)
    assert bad["status"]["message"].startswith("Bad sort order format")
    await sandbox.get_json(f"{sandbox.api}/models?sort=-name")
    await sandbox.get_json(f"{sandbox.api}/models/0123456789ABCDEF0123456789ABCDEF/imports", 404)


async def test_unknown_routes_answer_each_hosts_404(sandbox: Sandbox) -> None:
    body = await sandbox.get_json(f"{sandbox.api}/nothing/here", 404)
    assert body["status"] == {"code": 404, "message": "Not Found"}
    assert body["path"] == "/2/0/nothing/here"
    async with sandbox.http.delete(
        f"{sandbox.api}/workspaces", headers=await sandbox.headers()
    ) as r:
        assert r.status == 405
        assert (await r.json())["status"] == {"code": 405, "message": "Method Not Allowed"}
    async with sandbox.http.get(f"{sandbox.auth}/token/nothing") as r:
        assert r.status == 404
    async with sandbox.http.get(
        f"{sandbox.cloudworks}/integrations/run/x/dump", headers=await sandbox.headers()
    ) as r:
        assert r.status == 404
        assert r.content_type == "text/html"


async def test_paging_follows_next_and_previous(sandbox: Sandbox) -> None:
    url = f"{sandbox.model_base}/files?limit=3"
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    while url:
        body = await sandbox.get_json(url)
        pages.append(body["meta"]["paging"])
        seen.extend(f["id"] for f in body["files"])
        url = body["meta"]["paging"].get("next", "")
    assert len(seen) == len(set(seen)) == pages[0]["totalSize"] == 7
    assert [p["currentPageSize"] for p in pages] == [3, 3, 1]
    assert "previous" not in pages[0] and "previous" in pages[1]
    capped = await sandbox.get_json(f"{sandbox.model_base}/files?limit=9000")
    assert capped["meta"]["paging"]["currentPageSize"] == 7
    await sandbox.get_json(f"{sandbox.model_base}/files?offset=-1", 400)


async def test_lists_hold_the_chart_minus_the_lagging_members(sandbox: Sandbox) -> None:
    lists = (await sandbox.get_json(f"{sandbox.model_base}/lists"))["lists"]
    for name, expected in (
        ("Accounts", [a.code for a in chart.NATURAL_ACCOUNTS]),
        ("Cost Centers", [c.code for c in chart.COST_CENTERS]),
    ):
        list_id = by_name(lists, name)["id"]
        assert list_id.startswith("101")
        items = (await sandbox.get_json(f"{sandbox.model_base}/lists/{list_id}/items"))["listItems"]
        wanted = [c for c in expected if c not in chart.ANAPLAN_LAGS_BEHIND[name]]
        assert [i["code"] for i in items] == wanted
        meta = await sandbox.get_json(f"{sandbox.model_base}/lists/{list_id}")
        assert meta["metadata"]["itemCount"] == len(wanted)
        assert all("properties" not in i for i in items), "properties only with includeAll"


async def test_list_item_writes(sandbox: Sandbox) -> None:
    lists = (await sandbox.get_json(f"{sandbox.model_base}/lists"))["lists"]
    centers = f"{sandbox.model_base}/lists/{by_name(lists, 'Cost Centers')['id']}/items"
    headers = await sandbox.headers()
    add = {
        "items": [
            {"name": "Treasury", "code": "38"},
            {"name": "Finance", "code": "99"},
            {"name": "x", "code": "10"},
        ]
    }
    async with sandbox.http.post(f"{centers}?action=add", headers=headers, json=add) as r:
        body = await r.json()
    assert (body["added"], body["ignored"], body["total"]) == (1, 1, 3)
    assert body["failures"][0]["requestIndex"] == 1
    async with sandbox.http.put(
        centers, headers=headers, json={"items": [{"code": "38", "name": "Group Treasury"}]}
    ) as r:
        assert (await r.json())["updated"] == 1
    async with sandbox.http.post(
        f"{centers}?action=delete", headers=headers, json={"items": [{"code": "38"}]}
    ) as r:
        body = await r.json()
    assert body["deleted"] == 1 and "failures" not in body
    async with sandbox.http.post(centers, headers=headers, json=add) as r:
        assert r.status == 400, "the action parameter is required"
    async with sandbox.http.get(centers, headers={**headers, "Accept": "text/csv"}) as r:
        assert r.content_type == "text/csv"
        assert "Group Treasury" not in await r.text()


async def test_modules_line_items_dimensions_and_cell_writes(sandbox: Sandbox) -> None:
    base = f"{sandbox.api}/models/{sandbox.info['model_id']}"
    modules = (await sandbox.get_json(f"{base}/modules"))["modules"]
    assert {m["name"] for m in modules} == {"GL Actuals", "AP Spend", "Budget"}
    gl = by_name(modules, "GL Actuals")
    items = (await sandbox.get_json(f"{base}/modules/{gl['id']}/lineItems?includeAll=true"))[
        "items"
    ]
    amount = by_name(items, "Amount")
    dims = (await sandbox.get_json(f"{base}/lineItems/{amount['id']}/dimensions"))["dimensions"]
    assert [d["name"] for d in dims] == ["Accounts", "Cost Centers", "Time", "Versions"]
    time_items = (await sandbox.get_json(f"{base}/dimensions/20000000003/items"))["items"]
    year = sandbox.info["fiscal_year"]
    assert len(time_items) == 36
    assert time_items[0]["name"] == f"Jan {(year - 1) % 100:02d}"
    versions = (await sandbox.get_json(f"{base}/versions"))["versionMetadata"]
    assert [v["name"] for v in versions] == ["Actual", "Budget", "Forecast"]
    cell = {
        "lineItemName": "Amount",
        "dimensions": [
            {"dimensionName": "Accounts", "itemCode": "6100"},
            {"dimensionName": "Cost Centers", "itemCode": "21"},
            {"dimensionId": "20000000003", "itemName": f"Apr {year % 100:02d}"},
            {"dimensionId": "20000000020", "itemName": "Actual"},
        ],
        "value": 77.5,
    }
    bad = {**cell, "value": "lots"}
    async with sandbox.http.post(
        f"{base}/modules/{gl['id']}/data", headers=await sandbox.headers(), json=[cell, bad]
    ) as r:
        body = await r.json()
    assert body["numberOfCellsChanged"] == 1
    assert body["failures"][0]["requestIndex"] == 1
    calendar = (await sandbox.get_json(f"{base}/modelCalendar"))["modelCalendar"]
    assert calendar["fiscalYear"]["year"] == f"FY{year % 100:02d}"


async def test_remaining_metadata_endpoints(sandbox: Sandbox) -> None:
    me = (await sandbox.get_json(f"{sandbox.api}/users/me"))["user"]
    same = (await sandbox.get_json(f"{sandbox.api}/users/{me['id']}"))["user"]
    assert same["email"] == sandbox.info["user"]
    workspace = await sandbox.get_json(f"{sandbox.api}/workspaces/{sandbox.info['workspace_id']}")
    assert workspace["workspace"]["name"] == "FP&A"
    headers = await sandbox.headers()
    for action, status in (("close", 204), ("open", 202)):
        async with sandbox.http.post(f"{sandbox.model_base}/{action}", headers=headers) as r:
            assert r.status == status
            assert await r.read() == b""
        expected = "Closed" if action == "close" else "Open"
        status_body = await sandbox.get_json(f"{sandbox.model_base}/status")
        assert status_body["requestStatus"]["currentStep"] == expected
    base = f"{sandbox.api}/models/{sandbox.info['model_id']}"
    items = (await sandbox.get_json(f"{base}/lineItems"))["items"]
    assert {i["name"] for i in items} == {"Amount", "Spend", "Invoice Count"}
    spend = by_name(items, "Spend")
    version_dim = "20000000020"
    versions = await sandbox.get_json(
        f"{base}/lineItems/{spend['id']}/dimensions/{version_dim}/items"
    )
    assert [v["name"] for v in versions["items"]] == ["Actual", "Budget", "Forecast"]
    period = (await sandbox.get_json(f"{base}/currentPeriod"))["currentPeriod"]
    assert period["periodText"].endswith(f"{sandbox.info['fiscal_year'] % 100:02d}")
    exports = (await sandbox.get_json(f"{sandbox.model_base}/exports"))["exports"]
    budget = by_name(exports, "Export Approved Budget")
    meta = (await sandbox.get_json(f"{base}/exports/{budget['id']}"))["exportMetadata"]
    assert meta["headerNames"] == ["Account", "Cost Center", "Period", "Version", "Amount"]
    assert meta["dataTypes"] == ["ENTITY", "ENTITY", "TIME_ENTITY", "ENTITY", "NUMBER"]
    assert meta["rowCount"] > 1000, "the Budget version is seeded with approved values"
    await sandbox.get_json(f"{sandbox.model_base}/imports/112999999999", 500)


async def test_single_chunk_put_and_task_list_order(sandbox: Sandbox) -> None:
    imports = (await sandbox.get_json(f"{sandbox.model_base}/imports/"))["imports"]
    load = by_name(imports, "Load Cost Centers")
    headers = {**(await sandbox.headers()), "Content-Type": "application/octet-stream"}
    url = f"{sandbox.model_base}/files/{load['importDataSourceId']}"
    async with sandbox.http.put(url, data=b"Code,Name\n38,Treasury\n", headers=headers) as r:
        assert r.status == 204
    task_ids = []
    for _ in range(2):
        async with sandbox.http.post(
            f"{sandbox.model_base}/imports/{load['id']}/tasks",
            headers=headers,
            json={"localeName": "en_US"},
        ) as r:
            task_ids.append((await r.json())["task"]["taskId"])
    newest_first = await sandbox.get_json(
        f"{sandbox.model_base}/imports/{load['id']}/tasks?sort=-creationTime"
    )
    assert [t["taskId"] for t in newest_first["tasks"]] == task_ids[::-1]
    lists = (await sandbox.get_json(f"{sandbox.model_base}/lists"))["lists"]
    centers = by_name(lists, "Cost Centers")["id"]
    members = (await sandbox.get_json(f"{sandbox.model_base}/lists/{centers}/items"))["listItems"]
    assert by_name(members, "Treasury")["code"] == "38"


async def test_device_approval_through_the_control_api(sandbox: Sandbox) -> None:
    client_id = sandbox.info["oauth_client_id"]
    async with sandbox.http.post(
        f"{sandbox.oauth}/oauth/device/code", json={"client_id": client_id, "scope": "openid"}
    ) as r:
        device = await r.json()
    async with sandbox.http.get(device["verification_uri_complete"]) as r:
        assert r.status == 200 and device["user_code"] in await r.text()
    await sandbox.control("POST", "/anaplan/oauth/approve", {"user_code": device["user_code"]})
    async with sandbox.http.post(
        f"{sandbox.oauth}/oauth/token",
        json={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": client_id,
        },
    ) as r:
        tokens = await r.json()
    assert r.status == 200
    assert "refresh_token" not in tokens, "no offline_access, no refresh token"
