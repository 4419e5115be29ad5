"""Serving an emulator's hosts on loopback, one port per host role.

Real Anaplan has separate hosts for authentication, the Integration API, OAuth and CloudWorks;
Epicor has the application server and an identity provider. Serving each role on its own port
keeps clients honest: a client that builds the API URL from the auth URL fails here as it would
in production.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Protocol

from aiohttp import web

LOOPBACK = "127.0.0.1"


class Emulator(Protocol):
    @property
    def apps(self) -> Mapping[str, web.Application]:
        """Host role (``auth``, ``api``, …) → the application served for it."""
        ...

    def describe(self, urls: Mapping[str, str]) -> dict[str, object]:
        """This system's section of the sandbox URLs file, given each role's base URL."""
        ...


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def serve_emulator(
    emulator: Emulator,
    host: str = LOOPBACK,
    ports: Mapping[str, int] | None = None,
) -> AsyncIterator[dict[str, str]]:
    """Serve every host role of ``emulator``; yields ``{role: "http://host:port"}``.

    A port of 0 (the default) takes a free port, which is what tests use.
    """
    runners: list[web.AppRunner] = []
    urls: dict[str, str] = {}
    try:
        for role, app in emulator.apps.items():
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            runners.append(runner)
            sock = _bind(host, (ports or {}).get(role, 0))
            await web.SockSite(runner, sock).start()
            urls[role] = f"http://{host}:{sock.getsockname()[1]}"
        yield urls
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
