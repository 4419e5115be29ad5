"""A client written only from Anaplan's public documentation works against the emulator.

The client below uses nothing but ``aiohttp`` and the URLs, headers and bodies of the public docs:
help.anaplan.com "Authentication service API" (POST /token/authenticate, Basic, 201 + tokenInfo),
"Integration API v2.0" (workspaces, models, imports, exports, files, chunks, tasks), "Upload a file
in chunks" (POST chunkCount, PUT chunks as application/x-gzip), "Run an import"/"Monitor the
import task" (POST tasks with localeName, poll until taskState COMPLETE) and "Download files"
(GET chunks, concatenate). The sandbox fixture is used only to start the emulator and read its base
URLs and demo credentials — the same things the URLs file gives a customer.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
from typing import Any

import aiohttp
import anyio
import pytest

from tests.sandbox.anaplan.support import SandboxFactory

pytestmark = pytest.mark.anyio

CHUNK_SIZE = 64  # tiny, so the upload really is several chunks


class DocumentedClient:
    def __init__(self, http: aiohttp.ClientSession, auth_url: str, api_url: str) -> None:
        self.http = http
        self.auth_url = auth_url
        self.api = f"{api_url}/2/0"
        self.token = ""

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"AnaplanAuthToken {self.token}",
            "Content-Type": "application/json",
        }

    async def authenticate(self, user: str, password: str) -> None:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        async with self.http.post(
            f"{self.auth_url}/token/authenticate", headers={"Authorization": f"Basic {basic}"}
        ) as response:
            assert response.status == 201
            self.token = (await response.json())["tokenInfo"]["tokenValue"]

    async def get(self, path: str) -> Any:
        async with self.http.get(f"{self.api}{path}", headers=self.headers) as response:
            assert response.status == 200, f"GET {path} → {response.status}"
            return await response.json()

    async def find(self, path: str, key: str, name: str) -> dict[str, Any]:
        items = (await self.get(path)).get(key, [])
        return next(item for item in items if item["name"] == name)

    async def upload(self, model_path: str, file_id: str, data: bytes) -> None:
        chunks = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)]
        async with self.http.post(
            f"{self.api}{model_path}/files/{file_id}",
            headers=self.headers,
            json={"chunkCount": len(chunks)},
        ) as response:
            assert response.status == 200
        for number, chunk in enumerate(chunks):
            headers = {**self.headers, "Content-Type": "application/x-gzip"}
            async with self.http.put(
                f"{self.api}{model_path}/files/{file_id}/chunks/{number}",
                headers=headers,
                data=gzip.compress(chunk),
            ) as response:
                assert response.status == 204

    async def run(self, model_path: str, kind: str, action_id: str) -> dict[str, Any]:
        async with self.http.post(
            f"{self.api}{model_path}/{kind}/{action_id}/tasks",
            headers=self.headers,
            json={"localeName": "en_US"},
        ) as response:
            assert response.status == 200
            task_id = (await response.json())["task"]["taskId"]
        with anyio.fail_after(30):
            while True:
                task = (await self.get(f"{model_path}/{kind}/{action_id}/tasks/{task_id}"))["task"]
                if task["taskState"] == "COMPLETE":
                    result: dict[str, Any] = task["result"]
                    return result
                await anyio.sleep(0.05)

    async def download(self, model_path: str, file_id: str) -> bytes:
        listing = await self.get(f"{model_path}/files/{file_id}/chunks")
        parts = []
        for chunk in listing.get("chunks", []):
            async with self.http.get(
                f"{self.api}{model_path}/files/{file_id}/chunks/{chunk['id']}", headers=self.headers
            ) as response:
                assert response.status == 200
                parts.append(await response.read())
        return b"".join(parts)


async def test_documented_client_round_trip(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(task_base_seconds=0.2, task_seconds_per_row=0.01) as sb:
        info = sb.info
        async with aiohttp.ClientSession() as http:
            client = DocumentedClient(http, info["auth_url"], info["api_url"])
            await client.authenticate(info["user"], info["password"])
            workspace = await client.find("/workspaces", "workspaces", info["workspace"])
            model = await client.find(
                f"/workspaces/{workspace['id']}/models", "models", info["model"]
            )
            model_path = f"/workspaces/{workspace['id']}/models/{model['id']}"

            load = await client.find(f"{model_path}/imports", "imports", "Load GL Actuals")
            year = info["fiscal_year"] % 100
            source = io.StringIO()
            writer = csv.writer(source, lineterminator="\n")
            writer.writerow(["Account", "Cost Center", "Period", "Version", "Amount"])
            expected: list[list[str]] = []
            for month in ("Jan", "Feb", "Mar", "Apr"):
                row = ["6200", "25", f"{month} {year}", "Actual", f"{len(expected) * 10 + 150}"]
                writer.writerow(row)
                expected.append(row)
            await client.upload(model_path, load["importDataSourceId"], source.getvalue().encode())
            imported = await client.run(model_path, "imports", load["id"])
            assert imported["successful"] is True

            export = await client.find(f"{model_path}/exports", "exports", "Export GL Actuals")
            exported = await client.run(model_path, "exports", export["id"])
            assert exported["successful"] is True
            text = (await client.download(model_path, export["id"])).decode()
            rows = list(csv.reader(io.StringIO(text)))
            assert rows[0] == ["Account", "Cost Center", "Period", "Version", "Amount"]
            assert rows[1:] == expected
