"""Test helpers: serve the Epicor emulator on loopback and talk to it the way a client would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.server import serve_emulator
from mlc.sandbox.epicor import EpicorEmulator, EpicorOptions, build_emulator

#: A fixed fiscal year and seeding moment, so tests do not depend on the day they run.
FISCAL_YEAR = 2025
AS_OF = "2025-06-30T12:00:00"
BALANCES = "Erp.BO.GLPeriodBalSearchSvc/GLPeriodBalSearches"


def basic(user: str, password: str) -> str:
    return aiohttp.encode_basic_auth(user, password)


@dataclass
class Reply:
    status: int
    body: Any
    text: str
    headers: Mapping[str, str]


@dataclass
class Epicor:
    """One served emulator plus an HTTP session authenticated like the connector."""

    emulator: EpicorEmulator
    urls: dict[str, str]
    section: dict[str, Any]
    http: aiohttp.ClientSession

    @property
    def api(self) -> str:
        return self.urls["api"]

    @property
    def idp(self) -> str:
        return self.urls["idp"]

    @property
    def odata(self) -> str:
        return f"{self.section['base_url']}/api/v2/odata/{self.section['company']}"

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "x-api-key": self.section["api_key"],
            "Authorization": basic(self.section["user"], self.section["password"]),
            "Accept": "application/json",
            **extra,
        }

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
    ) -> Reply:
        async with self.http.request(
            method,
            url,
            params=params,
            json=json,
            data=data,
            headers=self.headers() if headers is None else headers,
        ) as response:
            text = await response.text()
            body: Any = None
            if "json" in response.headers.get("Content-Type", ""):
                body = await response.json(content_type=None)
            return Reply(response.status, body, text, dict(response.headers))

    async def get(self, path: str, /, **params: str) -> Reply:
        return await self.call("GET", f"{self.odata}/{path}", params=params)

    async def ok(self, path: str, /, **params: str) -> Any:
        reply = await self.get(path, **params)
        assert reply.status == 200, reply.text
        return reply.body

    async def method(self, service: str, name: str, body: Mapping[str, Any]) -> Reply:
        return await self.call("POST", f"{self.odata}/{service}/{name}", json=dict(body))

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, f"{self.api}/_sandbox/{path}", json=body) as reply:
            assert reply.status < 300, await reply.text()
            return await reply.json()

    async def all_rows(self, path: str, page: int = 100, /, **params: str) -> list[dict[str, Any]]:
        """Page with $top/$skip until a short page, the loop [KB] and [PRAC] describe."""
        rows: list[dict[str, Any]] = []
        while True:
            body = await self.ok(path, **params, **{"$top": str(page), "$skip": str(len(rows))})
            rows.extend(body["value"])
            if len(body["value"]) < page:
                return rows

    async def counters(self) -> dict[str, Any]:
        return dict(await self.control("GET", "counters"))


def options(**overrides: Any) -> EpicorOptions:
    base: dict[str, Any] = {"fiscal_year": FISCAL_YEAR, "as_of": AS_OF}
    return EpicorOptions(**{**base, **overrides})


@asynccontextmanager
async def served(opts: EpicorOptions | None = None) -> AsyncIterator[Epicor]:
    emulator = build_emulator(opts or options(), SandboxClock())
    async with serve_emulator(emulator) as urls, aiohttp.ClientSession() as http:
        yield Epicor(emulator, urls, emulator.describe(urls), http)
