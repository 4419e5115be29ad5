"""The Epicor emulator over real HTTP, and the connector's Epicor stack on top of it.

Two clocks: the emulator measures token lifetimes on its sandbox clock (moved with
``POST /_sandbox/clock``); the connector waits and expires tokens on its injected clock. Tests
give the connector a :class:`StepClock`: a sleep (a retry backoff) moves it forward at once, so no
test waits in real time, and a test moves both clocks explicitly when it is about expiry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import anyio

from actors.token_keeper import KeeperAuthenticator, KeeperSettings, TokenKeeper
from mlc.epicor.auth import BasicAuthenticator, api_key_headers
from mlc.epicor.client import EpicorClient, EpicorSettings
from mlc.http import Authenticator, HttpConnection
from mlc.messages import TokenKeeperMessage, TokenSource
from mlc.runtime import ActorRef, ManualClock, Supervisor
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.server import serve_emulator
from mlc.sandbox.epicor import EpicorEmulator, EpicorOptions, build_emulator

CONNECTION = "epicor.test"
SYSTEM = "epicor"


class StepClock(ManualClock):
    """Virtual time for one waiting task: ``sleep`` records the wait and moves the clock by it."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.advance(max(0.0, seconds))


@dataclass
class Sandbox:
    emulator: EpicorEmulator
    urls: dict[str, str]
    info: dict[str, Any]
    session: aiohttp.ClientSession

    @property
    def api_url(self) -> str:
        return self.urls["api"]

    def now(self) -> float:
        return self.emulator.clock.time()

    def now_naive(self) -> datetime:
        """The sandbox time as Epicor writes it: naive, server-local (UTC here)."""
        return datetime.fromtimestamp(self.now(), UTC).replace(tzinfo=None)

    async def control(self, method: str, path: str, body: object = None) -> Any:
        async with self.session.request(method, self.api_url + path, json=body) as response:
            payload = await response.json()
            assert response.status < 300, f"{method} {path} → {response.status} {payload}"
            return payload

    async def advance(self, seconds: float) -> None:
        await self.control("POST", "/_sandbox/clock", {"advance": seconds})

    async def fault(self, **spec: Any) -> Any:
        return await self.control("POST", "/_sandbox/faults", spec)

    async def mutate(self, **body: Any) -> Any:
        return await self.control("POST", "/_sandbox/epicor/mutate", body)

    async def count(self, **match: Any) -> int:
        """Requests the emulator counted whose host/method/route/status equal ``match``."""
        rows = (await self.control("GET", "/_sandbox/counters"))["requests"]
        return sum(
            row["count"]
            for row in rows
            if all(row.get(key) == value for key, value in match.items())
        )

    def route(self, tail: str) -> str:
        """The emulator's route template of an API path below the company."""
        return f"/{self.info['instance']}/api/v2/odata/{{company}}/{tail}"


@asynccontextmanager
async def serve_sandbox(**options: Any) -> AsyncIterator[Sandbox]:
    emulator = build_emulator(EpicorOptions(**options), SandboxClock())
    async with serve_emulator(emulator) as urls, aiohttp.ClientSession() as session:
        yield Sandbox(emulator, dict(urls), emulator.describe(urls), session)


def http_connection(sandbox: Sandbox, clock: ManualClock) -> HttpConnection:
    return HttpConnection(CONNECTION, sandbox.info["base_url"], system=SYSTEM, clock=clock)


def settings(sandbox: Sandbox, page_size: int = 100) -> EpicorSettings:
    return EpicorSettings(
        CONNECTION, sandbox.info["company"], page_size, plant=sandbox.info["plant"]
    )


def basic_auth(
    sandbox: Sandbox, *, password: str | None = None, api_key: str | None = None
) -> BasicAuthenticator:
    info = sandbox.info
    return BasicAuthenticator(
        CONNECTION,
        info["user"],
        password if password is not None else info["password"],
        api_key if api_key is not None else info["api_key"],
    )


def client(
    sandbox: Sandbox, http: HttpConnection, auth: Authenticator | None = None, page_size: int = 100
) -> EpicorClient:
    return EpicorClient(http, auth or basic_auth(sandbox), settings(sandbox, page_size))


@asynccontextmanager
async def basic_client(
    sandbox: Sandbox, page_size: int = 100
) -> AsyncIterator[tuple[EpicorClient, StepClock]]:
    clock = StepClock(sandbox.now())
    async with http_connection(sandbox, clock) as http:
        yield client(sandbox, http, page_size=page_size), clock


@asynccontextmanager
async def keeper_running(
    source: TokenSource, clock: ManualClock, settings: KeeperSettings | None = None
) -> AsyncIterator[ActorRef[TokenKeeperMessage]]:
    """A TokenKeeper for ``source`` under a real supervisor."""
    supervisor = Supervisor(clock=clock)
    ref = supervisor.add(f"token.{source.connection}", lambda: TokenKeeper(source, clock, settings))
    async with anyio.create_task_group() as tg:
        await tg.start(supervisor.run)
        try:
            yield ref
        finally:
            supervisor.request_stop()


def keeper_auth(sandbox: Sandbox, keeper: ActorRef[TokenKeeperMessage]) -> KeeperAuthenticator:
    return KeeperAuthenticator(keeper, api_key_headers(sandbox.info["api_key"]))
