"""Test helpers for mlc.http: recording clock, scripted 127.0.0.1 servers, token authenticator.

The servers are generic HTTP behaviour (statuses, headers, dropped connections), not emulators
of Epicor, Anaplan or Workday.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from aiohttp import web


class RecordingClock:
    """A clock whose sleep records the delay, moves virtual time, and returns at once."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.start + self.elapsed

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


Responder = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Script:
    """Answers the n-th request with the n-th responder (the last one repeats)."""

    responders: list[Responder]
    seen: list[Seen] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            Seen(request.method, request.path, request.query_string, dict(request.headers), body)
        )
        index = min(len(self.seen), len(self.responders)) - 1
        return await self.responders[index](request)


def reply(
    status: int = 200, body: bytes | str = b"ok", headers: Mapping[str, str] | None = None
) -> Responder:
    async def respond(request: web.Request) -> web.StreamResponse:
        data = body.encode() if isinstance(body, str) else body
        return web.Response(status=status, body=data, headers=dict(headers or {}))

    return respond


@asynccontextmanager
async def serve(script: Script) -> AsyncIterator[str]:
    """Serve ``script`` for every path on a random port of 127.0.0.1; yields the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


RawAction = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def drop(writer: asyncio.StreamWriter) -> None:
    """Close the connection after reading the request, without a byte of response."""
    writer.close()


async def truncated_body(writer: asyncio.StreamWriter) -> None:
    """Promise 1000 bytes of body, send 10, close."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n0123456789")
    await writer.drain()
    writer.close()


def raw_reply(status: int = 200, body: bytes = b"ok") -> RawAction:
    async def answer(writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    return answer


@dataclass
class RawServer:
    """A socket-level HTTP/1.1 server: reads each request, then runs the next scripted action."""

    actions: list[RawAction]
    requests: list[bytes] = field(default_factory=list)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = await reader.readexactly(length) if length else b""
        self.requests.append(head + body)
        index = min(len(self.requests), len(self.actions)) - 1
        await self.actions[index](writer)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.close()
            await server.wait_closed()


class TokenAuth:
    """An authenticator whose token changes on every refresh, as a TokenKeeper's would."""

    def __init__(self, prefix: str = "token") -> None:
        self.prefix = prefix
        self.generation = 1
        self.rejected: list[dict[str, str]] = []

    @property
    def token(self) -> str:
        return f"{self.prefix}-{self.generation}"

    async def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def on_rejected(self, sent_headers: Mapping[str, str]) -> None:
        self.rejected.append(dict(sent_headers))
        self.generation += 1
