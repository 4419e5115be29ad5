"""The Anaplan emulator over real HTTP, two clocks kept in step, and the connector stack on top.

Time: the emulator measures token lifetimes, task durations and device-code intervals on its own
sandbox clock (real time plus an offset); the connector waits on its injected clock. Tests give
the connector a :class:`DrivenClock` that starts at the sandbox's time, and :func:`drive` moves
both forward together: when every task the test expects to sleep is asleep, it advances the
sandbox (``POST /_sandbox/clock``) and then the connector's clock to the earliest deadline. Nothing
jumps while a request is in flight, so a token valid when a request was sent is still valid
when the emulator reads it, as on a real network.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import anyio
from aiohttp import web

from actors.token_keeper import KeeperAuthenticator, KeeperSettings, TokenKeeper, run_token_timer
from mlc.anaplan.auth import BasicTokenSource
from mlc.anaplan.client import AnaplanClient, ModelClient
from mlc.anaplan.ids import ModelRef
from mlc.anaplan.transport import AnaplanTransport
from mlc.http import HttpConnection, RateLimiter
from mlc.messages import TokenKeeperMessage, TokenSource
from mlc.runtime import ActorRef, Clock, ManualClock, Supervisor
from mlc.sandbox.anaplan import AnaplanEmulator, AnaplanOptions, build_emulator
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.server import serve_emulator

#: Fast defaults for tests; each test overrides what it is about.
TEST_OPTIONS: dict[str, Any] = {"task_base_seconds": 2.0, "task_seconds_per_row": 0.0}


class DrivenClock(ManualClock):
    """A ManualClock that records every sleep and knows the deadlines still pending."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.sleeps: list[float] = []
        self.pending: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await super().sleep(seconds)
            return
        deadline = self.time() + seconds
        self.pending.append(deadline)
        try:
            await super().sleep(seconds)
        finally:
            self.pending.remove(deadline)


@dataclass
class Admission:
    """One request as the emulator saw it: when (sandbox and real monotonic time), where, status."""

    at: float
    real: float
    host: str
    method: str
    path: str
    status: int


@dataclass
class Sandbox:
    emulator: AnaplanEmulator
    urls: dict[str, str]
    info: dict[str, Any]
    session: aiohttp.ClientSession
    seen: list[Admission] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return self.urls["api"]

    def now(self) -> float:
        return self.emulator.clock.time()

    async def control(self, method: str, path: str, body: object = None) -> Any:
        async with self.session.request(method, self.urls["api"] + path, json=body) as response:
            payload = await response.json()
            assert response.status < 300, f"{method} {path} → {response.status} {payload}"
            return payload

    async def advance(self, seconds: float) -> None:
        await self.control("POST", "/_sandbox/clock", {"advance": seconds})

    async def fault(self, **spec: Any) -> Any:
        return await self.control("POST", "/_sandbox/faults", spec)

    async def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.control("GET", "/_sandbox/counters")
        return result

    async def count(self, **match: Any) -> int:
        """Requests the emulator counted whose host/method/route/status equal ``match``."""
        rows = (await self.counters())["requests"]
        return sum(
            row["count"]
            for row in rows
            if all(row.get(key) == value for key, value in match.items())
        )


def _recorder(sandbox_ref: list[Sandbox], role: str) -> Any:
    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        at = sandbox_ref[0].now() if sandbox_ref else 0.0
        real = time.monotonic()
        response: web.StreamResponse = await handler(request)
        if not request.path.startswith("/_sandbox") and sandbox_ref:
            sandbox_ref[0].seen.append(
                Admission(at, real, role, request.method, request.path, response.status)
            )
        return response

    return record


@asynccontextmanager
async def serve_sandbox(**options: Any) -> AsyncIterator[Sandbox]:
    """The emulator with ``TEST_OPTIONS`` plus ``options``, served on random loopback ports.

    Every emulated request is also recorded with the sandbox time it arrived at
    (:attr:`Sandbox.seen`), by a middleware placed first on each host.
    """
    emulator = build_emulator(AnaplanOptions(**{**TEST_OPTIONS, **options}), SandboxClock())
    holder: list[Sandbox] = []
    for role, app in emulator.apps.items():
        app.middlewares.insert(0, _recorder(holder, role))
    try:
        async with serve_emulator(emulator) as urls, aiohttp.ClientSession() as session:
            sandbox = Sandbox(emulator, dict(urls), emulator.describe(urls), session)
            holder.append(sandbox)
            yield sandbox
    finally:
        emulator.close()


async def wait_until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds; fail after 5 real seconds.

    Polls with bare checkpoints rather than ``wait_all_tasks_blocked``, whose asyncio version
    sleeps 0.1 s whenever any task is runnable, which made clock-driven tests crawl.
    """
    with anyio.fail_after(5):
        while not condition():
            await anyio.lowlevel.checkpoint()


async def step(clock: DrivenClock, sandbox: Sandbox) -> None:
    """Move the sandbox, then the connector's clock, to the earliest pending deadline."""
    seconds = max(0.0, min(clock.pending) - clock.time())
    if seconds > 0:
        await sandbox.advance(seconds)
    await clock.advance(seconds)


async def drive(clock: DrivenClock, sandbox: Sandbox, *, sleepers: int = 1) -> None:
    """Forever: once ``sleepers`` tasks sleep on ``clock``, :func:`step` both clocks."""
    while True:
        await anyio.lowlevel.checkpoint()
        if len(clock.pending) >= sleepers:
            await step(clock, sandbox)


def http_connection(
    sandbox: Sandbox, clock: Clock, *, limiter: RateLimiter | None = None
) -> HttpConnection:
    return HttpConnection(
        "anaplan.test", sandbox.api_url, system="anaplan", clock=clock, limiter=limiter
    )


def basic_source(
    sandbox: Sandbox, http: HttpConnection, clock: Clock, password: str | None = None
) -> BasicTokenSource:
    return BasicTokenSource(
        "anaplan.test",
        http,
        sandbox.info["auth_url"],
        sandbox.info["user"],
        password if password is not None else sandbox.info["password"],
        clock,
    )


@dataclass
class Stack:
    """The connector's Anaplan side for one test: HTTP, keeper, client, resolved model."""

    http: HttpConnection
    keeper: ActorRef[TokenKeeperMessage]
    client: AnaplanClient
    model: ModelClient
    ref: ModelRef


@asynccontextmanager
async def keeper_running(
    source: TokenSource,
    clock: Clock,
    settings: KeeperSettings | None = None,
    *,
    timer: bool = False,
) -> AsyncIterator[ActorRef[TokenKeeperMessage]]:
    """A TokenKeeper under a real supervisor (plus its timer when asked)."""
    supervisor = Supervisor(clock=clock)
    ref = supervisor.add("token." + source.connection, lambda: TokenKeeper(source, clock, settings))
    async with anyio.create_task_group() as tg:
        await tg.start(supervisor.run)
        try:
            async with anyio.create_task_group() as timers:
                if timer:
                    timers.start_soon(run_token_timer, ref, clock)
                yield ref
                timers.cancel_scope.cancel()
        finally:
            supervisor.request_stop()


@asynccontextmanager
async def anaplan_stack(
    sandbox: Sandbox,
    clock: Clock,
    *,
    limiter: RateLimiter | None = None,
    settings: KeeperSettings | None = None,
    timer: bool = False,
) -> AsyncIterator[Stack]:
    """Basic auth through a TokenKeeper, the client, and the demo model resolved by name."""
    async with http_connection(sandbox, clock, limiter=limiter) as http:
        source = basic_source(sandbox, http, clock)
        async with keeper_running(source, clock, settings, timer=timer) as keeper:
            transport = AnaplanTransport("anaplan.test", http, KeeperAuthenticator(keeper))
            client = AnaplanClient(transport)
            ref = await client.resolve(sandbox.info["workspace"], sandbox.info["model"])
            yield Stack(http, keeper, client, client.model(ref), ref)


async def collect_bytes(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in chunks])


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
