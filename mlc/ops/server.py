"""The ops HTTP server: ``/livez``, ``/readyz``, ``/metrics``, ``/status``.

Runs on aiohttp's ``AppRunner`` + a site, never ``web.run_app``: the service owns the signals
(``handle_signals=False``), and it closes this server last on shutdown so the probes keep
answering (``/readyz`` 503) while the service drains (ops reference §3.5). No access log: probes
and scrapes every few seconds would drown the events that matter.

Read-only by construction: only GET (and HEAD) routes exist, so nothing here can change state.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from types import TracebackType

import msgspec
from aiohttp import web

from mlc.errors import MlcError
from mlc.metrics import CONTENT_TYPE, REGISTRY, Registry
from mlc.ops.health import ServiceHealth
from mlc.ops.status import ServiceStatus, render_json
from mlc.ops.status_page import render_html

log = logging.getLogger("mlc.ops")

StatusProvider = Callable[[], Awaitable[ServiceStatus]]

_JSON = "application/json"
_HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


@web.middleware
async def _headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _json(value: object, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(value), status=status, content_type=_JSON)


def _wants_html(request: web.Request) -> bool:
    wanted = request.query.get("format")
    if wanted is not None:
        return wanted == "html"
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and _JSON not in accept


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise MlcError(
            f"service.http_port: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class OpsServer:
    """Serve the ops endpoints on ``host:port`` (0 = a free port; see :attr:`port`)."""

    def __init__(
        self,
        health: ServiceHealth,
        *,
        host: str,
        port: int,
        status: StatusProvider | None = None,
        registry: Registry = REGISTRY,
    ) -> None:
        self.health = health
        self.status_provider = status
        self._registry = registry
        self._host = host
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_headers])
        app.router.add_get("/livez", self._livez)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/status", self._status)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app(), handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            sock = _bind(self._host, self._requested_port)
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(sock.getsockname()[1])
        log.info("ops_server_started", extra={"host": self._host, "port": self.port})

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            log.info("ops_server_stopped")

    async def __aenter__(self) -> OpsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _livez(self, request: web.Request) -> web.Response:
        liveness = self.health.liveness()
        return _json(liveness, 200 if liveness.alive else 503)

    async def _readyz(self, request: web.Request) -> web.Response:
        readiness = await self.health.readiness()
        return _json(readiness, 200 if readiness.ready else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        response = web.Response(text=self._registry.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    async def _status(self, request: web.Request) -> web.Response:
        if self.status_provider is None:
            return _json({"error": "the service is starting; status is not available yet"}, 503)
        try:
            status = await self.status_provider()
        except Exception as exc:
            log.exception("status_failed")
            return _json({"error": f"status unavailable: {type(exc).__name__}"}, 500)
        if _wants_html(request):
            response = web.Response(text=render_html(status), content_type="text/html")
            response.headers["Content-Security-Policy"] = _HTML_POLICY
            return response
        return web.Response(body=render_json(status), content_type=_JSON)
