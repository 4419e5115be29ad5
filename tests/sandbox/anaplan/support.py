"""Helpers for the Anaplan emulator contract tests: a served sandbox and HTTP shortcuts."""

from __future__ import annotations

import base64
import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import anyio

from mlc.sandbox.anaplan import AnaplanEmulator, AnaplanOptions, build_emulator
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.server import serve_emulator

#: Fast defaults for tests: tasks finish as soon as they are observed unless a test asks for time.
FAST = AnaplanOptions(task_base_seconds=0.0, task_seconds_per_row=0.0, cancel_seconds=0.0)


@dataclass
class Sandbox:
    emulator: AnaplanEmulator
    urls: dict[str, str]
    info: dict[str, Any]
    http: aiohttp.ClientSession
    _token: str | None = field(default=None)

    @property
    def auth(self) -> str:
        return self.urls["auth"]

    @property
    def api(self) -> str:
        return self.urls["api"] + "/2/0"

    @property
    def cloudworks(self) -> str:
        return self.urls["cloudworks"] + "/2/0"

    @property
    def oauth(self) -> str:
        return self.urls["oauth"]

    @property
    def model_base(self) -> str:
        return f"{self.api}/workspaces/{self.info['workspace_id']}/models/{self.info['model_id']}"

    def basic(self, user: str | None = None, password: str | None = None) -> dict[str, str]:
        pair = f"{user or self.info['user']}:{password or self.info['password']}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    async def login(self) -> str:
        async with self.http.post(f"{self.auth}/token/authenticate", headers=self.basic()) as r:
            assert r.status == 201, await r.text()
            body = await r.json()
        token: str = body["tokenInfo"]["tokenValue"]
        return token

    async def headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = await self.login()
        return {"Authorization": f"AnaplanAuthToken {self._token}"}

    async def control(self, method: str, path: str, json: Any = None) -> Any:
        async with self.http.request(method, f"{self.urls['api']}/_sandbox{path}", json=json) as r:
            assert r.status < 300, f"{method} /_sandbox{path} → {r.status}: {await r.text()}"
            if path == "/reset":
                self._token = None
            return await r.json()

    async def advance(self, seconds: float) -> None:
        await self.control("POST", "/clock", {"advance": seconds})

    async def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.control("GET", "/counters")
        return result

    async def get_json(self, url: str, status: int = 200) -> Any:
        async with self.http.get(url, headers=await self.headers()) as r:
            assert r.status == status, f"GET {url} → {r.status}: {await r.text()}"
            return await r.json()


SandboxFactory = Callable[..., AbstractAsyncContextManager[Sandbox]]


@asynccontextmanager
async def served(**overrides: Any) -> AsyncIterator[Sandbox]:
    """A served emulator with FAST options plus ``overrides``, on random loopback ports."""
    fields = {**FAST.__dict__, **overrides}
    emulator = build_emulator(AnaplanOptions(**fields), SandboxClock())
    try:
        async with serve_emulator(emulator) as urls, aiohttp.ClientSession() as http:
            yield Sandbox(emulator, urls, emulator.describe(urls), http)
    finally:
        emulator.close()


def by_name(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for item in items:
        if item["name"] == name:
            return item
    raise AssertionError(f"{name!r} not in {[i['name'] for i in items]}")


async def upload(
    sb: Sandbox, file_id: str, data: bytes, chunk_size: int, compress: bool = True
) -> None:
    """Chunked upload as documented: POST chunkCount, PUT each chunk (gzip when ``compress``)."""
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    base = f"{sb.model_base}/files/{file_id}"
    headers = await sb.headers()
    async with sb.http.post(base, headers=headers, json={"chunkCount": len(chunks)}) as r:
        assert r.status == 200, await r.text()
    for index, chunk in enumerate(chunks):
        body = gzip.compress(chunk) if compress else chunk
        content_type = "application/x-gzip" if compress else "application/octet-stream"
        async with sb.http.put(
            f"{base}/chunks/{index}", data=body, headers={**headers, "Content-Type": content_type}
        ) as r:
            assert r.status == 204, await r.text()


async def start_task(sb: Sandbox, kind: str, action_id: str) -> str:
    url = f"{sb.model_base}/{kind}/{action_id}/tasks"
    async with sb.http.post(url, headers=await sb.headers(), json={"localeName": "en_US"}) as r:
        assert r.status == 200, await r.text()
        task_id: str = (await r.json())["task"]["taskId"]
    return task_id


async def task(sb: Sandbox, kind: str, action_id: str, task_id: str) -> dict[str, Any]:
    body = await sb.get_json(f"{sb.model_base}/{kind}/{action_id}/tasks/{task_id}")
    result: dict[str, Any] = body["task"]
    return result


async def run_to_end(sb: Sandbox, kind: str, action_id: str) -> tuple[str, dict[str, Any]]:
    """Start a task and advance the sandbox clock until it is terminal."""
    task_id = await start_task(sb, kind, action_id)
    with anyio.fail_after(10):
        while True:
            state = await task(sb, kind, action_id, task_id)
            if state["taskState"] in ("COMPLETE", "CANCELLED"):
                return task_id, state
            await sb.advance(1)


async def download_export(sb: Sandbox, export_id: str) -> bytes:
    base = f"{sb.model_base}/files/{export_id}"
    listing = await sb.get_json(f"{base}/chunks")
    parts = []
    for chunk in listing.get("chunks", []):
        async with sb.http.get(f"{base}/chunks/{chunk['id']}", headers=await sb.headers()) as r:
            assert r.status == 200
            parts.append(await r.read())
    return b"".join(parts)
