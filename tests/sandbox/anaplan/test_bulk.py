"""Integration API bulk flow: files, imports writing cells, exports reading them, dumps, cancels."""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from tests.sandbox.anaplan.support import (
    Sandbox,
    SandboxFactory,
    by_name,
    download_export,
    run_to_end,
    start_task,
    task,
    upload,
)

pytestmark = pytest.mark.anyio


async def _ids(sb: Sandbox) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    imports = (await sb.get_json(f"{sb.model_base}/imports"))["imports"]
    exports = (await sb.get_json(f"{sb.model_base}/exports"))["exports"]
    return {i["name"]: i for i in imports}, {e["name"]: e for e in exports}


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


async def test_actions_and_files_are_listed_with_the_documented_id_schemes(
    sandbox: Sandbox,
) -> None:
    imports, exports = await _ids(sandbox)
    assert set(imports) == {
        "Load Accounts",
        "Load Cost Centers",
        "Load GL Actuals",
        "Load AP Spend",
    }
    assert set(exports) == {
        "Export Approved Budget",
        "Export Approved Forecast",
        "Export GL Actuals",
    }
    assert all(i["id"].startswith("112") and len(i["id"]) == 12 for i in imports.values())
    assert all(i["importDataSourceId"].startswith("113") for i in imports.values())
    assert all(e["id"].startswith("116") for e in exports.values())
    assert imports["Load GL Actuals"]["importType"] == "MODULE_DATA"
    assert imports["Load Accounts"]["importType"] == "HIERARCHY_DATA"
    meta = await sandbox.get_json(
        f"{sandbox.model_base}/imports/{imports['Load GL Actuals']['id']}"
    )
    source = meta["importMetadata"]["source"]
    assert source["headerNames"] == ["Account", "Cost Center", "Period", "Version", "Amount"]
    assert source["columnCount"] == 5
    files = (await sandbox.get_json(f"{sandbox.model_base}/files"))["files"]
    assert (
        by_name(files, "GL Actuals.csv")["id"] == imports["Load GL Actuals"]["importDataSourceId"]
    )
    model_direct = f"{sandbox.api}/models/{sandbox.info['model_id']}/imports"
    assert (await sandbox.get_json(model_direct))["imports"] == list(imports.values())
    for empty in ("processes", "actions"):
        body = await sandbox.get_json(f"{sandbox.model_base}/{empty}")
        assert empty not in body, "empty collections omit their key"
        assert body["status"] == {"code": 200, "message": "Success"}


async def test_chunked_gzip_upload_then_import_writes_cells_an_export_returns(
    sandbox: Sandbox,
) -> None:
    imports, exports = await _ids(sandbox)
    year = sandbox.info["fiscal_year"] % 100
    rows = [["Account", "Cost Center", "Period", "Version", "Amount"]]
    for month in ("Jan", "Feb", "Mar"):
        rows.append(["6100", "21", f"{month} {year}", "Actual", "1250.5"])
        rows.append(["4000", "17", f"{month} {year}", "Actual", "-98000"])
    data = _csv(rows)
    load = imports["Load GL Actuals"]
    await upload(sandbox, load["importDataSourceId"], data, chunk_size=37)
    chunks = await sandbox.get_json(
        f"{sandbox.model_base}/files/{load['importDataSourceId']}/chunks"
    )
    assert len(chunks["chunks"]) == -(-len(data) // 37)
    _, state = await run_to_end(sandbox, "imports", load["id"])
    assert state["taskState"] == "COMPLETE"
    result = state["result"]
    assert result["successful"] is True
    assert result["failureDumpAvailable"] is False
    assert result["objectId"] == load["id"]
    assert "6 (0/6) rows successful" in result["details"][0]["localMessageText"]

    export = exports["Export GL Actuals"]
    _, exported = await run_to_end(sandbox, "exports", export["id"])
    assert exported["result"]["successful"] is True
    text = (await download_export(sandbox, export["id"])).decode()
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["Account", "Cost Center", "Period", "Version", "Amount"]
    assert sorted(parsed[1:]) == sorted(
        [
            [a, c, f"{m} {year}", "Actual", v]
            for m in ("Jan", "Feb", "Mar")
            for a, c, v in (("6100", "21", "1250.5"), ("4000", "17", "-98000"))
        ]
    )
    async with sandbox.http.get(
        f"{sandbox.model_base}/files/{export['id']}", headers=await sandbox.headers()
    ) as r:
        assert r.status == 200
        assert r.content_type == "application/octet-stream"
        assert (await r.read()).decode() == text


async def test_per_row_failures_are_reported_in_details_and_the_dump(sandbox: Sandbox) -> None:
    imports, _ = await _ids(sandbox)
    year = sandbox.info["fiscal_year"] % 100
    rows = [
        ["Account", "Cost Center", "Period", "Version", "Amount"],
        ["6100", "21", f"Jan {year}", "Actual", "10"],
        ["7200", "21", f"Jan {year}", "Actual", "20"],
        ["6100", "21", f"Feb {year}", "Actual", "abc"],
        ["6100", "99", f"Mar {year}", "Actual", "30"],
        ["6100", "21", "Jan 1999", "Actual", "40"],
        ["", "", "", "", ""],
    ]
    load = imports["Load GL Actuals"]
    await upload(sandbox, load["importDataSourceId"], _csv(rows), chunk_size=1000)
    task_id, state = await run_to_end(sandbox, "imports", load["id"])
    result = state["result"]
    assert result["successful"] is True
    assert result["failureDumpAvailable"] is True
    summary = result["details"][0]
    values = dict(zip(summary["values"][::2], summary["values"][1::2], strict=True))
    assert values["successRowCount"] == "1"
    assert values["failedCount"] == "4"
    assert values["ignoredCount"] == "1"
    kinds = {d["type"]: d for d in result["details"][1:]}
    assert kinds["invalidListItem:Accounts"]["occurrences"] == 1
    assert "7200" in kinds["invalidListItem:Accounts"]["localMessageText"]
    assert kinds["invalidNumber"]["occurrences"] == 1
    assert kinds["invalidListItem:Cost Centers"]["occurrences"] == 1
    assert kinds["invalidTimePeriod"]["occurrences"] == 1

    dump_url = f"{sandbox.model_base}/imports/{load['id']}/tasks/{task_id}/dump"
    async with sandbox.http.get(dump_url, headers=await sandbox.headers()) as r:
        assert r.status == 200
        dump = list(csv.reader(io.StringIO(await r.text())))
    assert dump[0] == [
        "_Status_",
        "Account",
        "Cost Center",
        "Period",
        "Version",
        "Amount",
        "_Line_",
        "_Error_1_",
    ]
    assert [row[6] for row in dump[1:]] == ["3", "4", "5", "6"]
    assert all(row[0] == "E" for row in dump[1:])
    assert "abc" in dump[2][7]
    chunks = await sandbox.get_json(f"{dump_url}/chunks")
    assert chunks["chunks"] == [{"id": "0", "name": "Chunk 0"}]
    async with sandbox.http.get(f"{dump_url}/chunks/0", headers=await sandbox.headers()) as r:
        assert r.status == 200

    # A clean run of the same import removes the user's dump; the old task's dump is gone.
    await upload(sandbox, load["importDataSourceId"], _csv(rows[:2]), chunk_size=1000)
    _, clean = await run_to_end(sandbox, "imports", load["id"])
    assert clean["result"]["failureDumpAvailable"] is False
    async with sandbox.http.get(dump_url, headers=await sandbox.headers()) as r:
        assert r.status == 404


async def test_hierarchy_import_adds_list_members(sandbox: Sandbox) -> None:
    imports, _ = await _ids(sandbox)
    rows = [
        ["Code", "Name", "Parent", "Normal Balance"],
        ["7200", "Foreign Exchange Loss", "Expense", "D"],
        ["8000", "Income Tax Expense", "Expense", "D"],
        ["6100", "Rent and Occupancy", "Expense", "D"],
        ["9999", "Orphan", "No Such Category", "D"],
    ]
    load = imports["Load Accounts"]
    await upload(sandbox, load["importDataSourceId"], _csv(rows), chunk_size=64)
    _, state = await run_to_end(sandbox, "imports", load["id"])
    summary = state["result"]["details"][0]
    assert summary["type"] == "hierarchyRowsProcessed"
    assert summary["localMessageText"].startswith("Accounts: 3 (2/1) rows successful")
    lists = (await sandbox.get_json(f"{sandbox.model_base}/lists"))["lists"]
    accounts = by_name(lists, "Accounts")
    items = (
        await sandbox.get_json(f"{sandbox.model_base}/lists/{accounts['id']}/items?includeAll=true")
    )["listItems"]
    codes = {i["code"]: i for i in items}
    assert codes["7200"]["name"] == "Foreign Exchange Loss"
    assert codes["7200"]["parent"] == "Expense"
    assert codes["7200"]["properties"] == {"Normal Balance": "D"}
    assert codes["6100"]["name"] == "Rent and Occupancy"
    assert "9999" not in codes


async def test_import_of_a_file_never_uploaded_completely_fails_the_task(sandbox: Sandbox) -> None:
    imports, _ = await _ids(sandbox)
    load = imports["Load AP Spend"]
    base = f"{sandbox.model_base}/files/{load['importDataSourceId']}"
    async with sandbox.http.post(
        base, headers=await sandbox.headers(), json={"chunkCount": 2}
    ) as r:
        assert r.status == 200
    headers = {**(await sandbox.headers()), "Content-Type": "application/octet-stream"}
    async with sandbox.http.put(f"{base}/chunks/0", data=b"Account,", headers=headers) as r:
        assert r.status == 204
    _, state = await run_to_end(sandbox, "imports", load["id"])
    assert state["result"]["successful"] is False
    assert state["result"]["failureDumpAvailable"] is False


async def test_chunk_limits_and_content_types(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(max_chunk_bytes=1000) as sb:
        imports, exports = await _ids(sb)
        file_id = imports["Load GL Actuals"]["importDataSourceId"]
        base = f"{sb.model_base}/files/{file_id}"
        headers = await sb.headers()
        async with sb.http.post(base, headers=headers, json={"chunkCount": 1001}) as r:
            assert r.status == 400
            assert (await r.json())["status"]["code"] == 400
        async with sb.http.post(base, headers=headers, json={"chunkCount": -1}) as r:
            assert r.status == 200
        octet = {**headers, "Content-Type": "application/octet-stream"}
        gz = {**headers, "Content-Type": "application/x-gzip"}
        async with sb.http.put(f"{base}/chunks/1000", data=b"x", headers=octet) as r:
            assert r.status == 400
        async with sb.http.put(f"{base}/chunks/0", data=b"x" * 1001, headers=octet) as r:
            assert r.status == 413
        async with sb.http.put(
            f"{base}/chunks/0", data=gzip.compress(b"y" * 5000), headers=gz
        ) as r:
            assert r.status == 413, "the limit applies to the uncompressed size"
        async with sb.http.put(f"{base}/chunks/0", data=b"not gzip", headers=gz) as r:
            assert r.status == 400
        async with sb.http.put(
            f"{base}/chunks/0", data=b"a", headers={**headers, "Content-Type": "text/csv"}
        ) as r:
            assert r.status == 415
        async with sb.http.put(
            f"{base}/chunks/0", data=gzip.compress(b"Account\n"), headers=gz
        ) as r:
            assert r.status == 204
        async with sb.http.put(f"{base}/chunks/1", data=b"6100\n", headers=octet) as r:
            assert r.status == 204
        async with sb.http.post(f"{base}/complete", headers=headers, json={"id": file_id}) as r:
            assert r.status == 200
            assert (await r.json())["file"]["chunkCount"] == 2
        async with sb.http.get(base, headers=headers) as r:
            assert await r.read() == b"Account\n6100\n"
        async with sb.http.delete(base, headers=headers) as r:
            assert r.status == 204
        async with sb.http.get(base, headers=headers) as r:
            assert await r.read() != b"Account\n6100\n", "the default content remains"
        export_file = f"{sb.model_base}/files/{exports['Export GL Actuals']['id']}"
        async with sb.http.get(export_file, headers=headers) as r:
            assert r.status == 404, "an export never run has no content"


async def test_cancelling_a_running_import_rolls_it_back(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(task_base_seconds=100.0, cancel_seconds=2.0) as sb:
        imports, exports = await _ids(sb)
        year = sb.info["fiscal_year"] % 100
        load = imports["Load GL Actuals"]
        data = _csv(
            [
                ["Account", "Cost Center", "Period", "Version", "Amount"],
                ["6100", "21", f"Jan {year}", "Actual", "5"],
            ]
        )
        await upload(sb, load["importDataSourceId"], data, chunk_size=1000)
        task_id = await start_task(sb, "imports", load["id"])
        running = await task(sb, "imports", load["id"], task_id)
        assert running["taskState"] == "IN_PROGRESS"
        assert "result" not in running
        url = f"{sb.model_base}/imports/{load['id']}/tasks/{task_id}"
        async with sb.http.delete(url, headers=await sb.headers()) as r:
            assert r.status == 200
            assert (await r.json())["task"]["taskState"] == "CANCELLING"
        await sb.advance(3)
        cancelled = await task(sb, "imports", load["id"], task_id)
        assert cancelled["taskState"] == "CANCELLED"
        assert cancelled["result"]["successful"] is False
        await run_to_end(sb, "exports", exports["Export GL Actuals"]["id"])
        text = (await download_export(sb, exports["Export GL Actuals"]["id"])).decode()
        assert text.strip().splitlines() == ["Account,Cost Center,Period,Version,Amount"]


async def test_task_endpoints_404_and_empty_lists(sandbox: Sandbox) -> None:
    imports, _ = await _ids(sandbox)
    load = imports["Load GL Actuals"]["id"]
    body = await sandbox.get_json(f"{sandbox.model_base}/imports/{load}/tasks")
    assert "tasks" not in body
    body = await sandbox.get_json(f"{sandbox.model_base}/imports/112999999999/tasks")
    assert body["status"]["code"] == 200, "task lists answer 200 even for an unknown parent"
    missing = await sandbox.get_json(
        f"{sandbox.model_base}/imports/{load}/tasks/00000000000000000000000000000000", status=404
    )
    assert missing["status"] == {"code": 404, "message": "Not Found"}
    assert missing["path"].endswith("/tasks/00000000000000000000000000000000")
    assert missing["timestamp"].endswith("Z")
    url = f"{sandbox.model_base}/imports/{load}/tasks"
    async with sandbox.http.post(url, headers=await sandbox.headers(), json={}) as r:
        assert r.status == 400, "localeName is required"
    async with sandbox.http.post(
        f"{sandbox.model_base}/exports/116999999999/tasks",
        headers=await sandbox.headers(),
        json={"localeName": "en_US"},
    ) as r:
        assert r.status == 404
