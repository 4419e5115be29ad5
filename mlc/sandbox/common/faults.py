"""Injected faults: the failure modes a real system shows, on demand.

Generic kinds, applied by :func:`fault_middleware` to any matching request:

``status``
    answer with the given status, body and headers instead of running the handler
    (a 5xx burst, or a 429 storm with an emulator-specific body).
``drop``
    close the TCP connection with no response. ``"when": "before"`` drops without running the
    handler; ``"after"`` runs the handler first, so the action really happens server-side and only
    the response is lost — the case that makes blind retries of non-idempotent calls dangerous.
``latency``
    delay the response by ``seconds`` (real seconds: latency is about the client's timeouts).

Every fault matches by optional ``host`` role, ``method`` and ``route`` (a regular expression
searched in the request path) and affects ``count`` requests (-1 = until cleared). Emulators add
domain kinds (a CloudWorks run holding a model lock, a failing task, slow ``$skip``) with
:meth:`Faults.register_kind`; those are handled by the emulator, not the middleware.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from mlc.sandbox.common.counters import CONTROL_PREFIX, Handler

DomainFault = Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any] | None]]

GENERIC_KINDS = frozenset({"status", "drop", "latency"})


class FaultError(ValueError):
    """A fault description that cannot be applied; the control API answers 400 with it."""


class Fault:
    def __init__(self, fault_id: int, spec: Mapping[str, Any]) -> None:
        self.id = fault_id
        self.spec = dict(spec)
        self.kind = str(spec["kind"])
        self.remaining = int(spec.get("count", 1))
        self.host = spec.get("host")
        self.method = spec.get("method")
        route = spec.get("route")
        try:
            self.route = re.compile(route) if route else None
        except re.error as exc:
            raise FaultError(f"fault route {route!r} is not a regular expression: {exc}") from exc

    def matches(self, host: str, request: web.Request) -> bool:
        if self.remaining == 0:
            return False
        if self.host is not None and self.host != host:
            return False
        if self.method is not None and str(self.method).upper() != request.method:
            return False
        return self.route is None or self.route.search(request.path) is not None

    def consume(self) -> None:
        if self.remaining > 0:
            self.remaining -= 1


class Faults:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.active: list[Fault] = []
        self._domain: dict[str, DomainFault] = {}

    def register_kind(self, kind: str, handler: DomainFault) -> None:
        """Let the control API accept ``{"kind": kind, …}`` and hand it to ``handler``."""
        self._domain[kind] = handler

    async def add(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        kind = spec.get("kind")
        if not isinstance(kind, str):
            raise FaultError("a fault needs a string 'kind'")
        if kind in self._domain:
            extra = await self._domain[kind](spec)
            return {"id": next(self._ids), "kind": kind, **(extra or {})}
        if kind not in GENERIC_KINDS:
            known = sorted(GENERIC_KINDS | self._domain.keys())
            raise FaultError(f"unknown fault kind {kind!r}; known kinds: {', '.join(known)}")
        fault = Fault(next(self._ids), spec)
        if kind == "status" and not isinstance(spec.get("status"), int):
            raise FaultError("a 'status' fault needs an integer 'status'")
        if kind == "latency" and not isinstance(spec.get("seconds"), int | float):
            raise FaultError("a 'latency' fault needs a number 'seconds'")
        self.active.append(fault)
        return {"id": fault.id, "kind": kind}

    def clear(self) -> None:
        self.active.clear()

    def take(self, host: str, request: web.Request) -> Fault | None:
        for fault in self.active:
            if fault.matches(host, request):
                fault.consume()
                return fault
        return None


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise ConnectionResetError("sandbox fault: connection dropped")


def fault_middleware(faults: Faults, host: str) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        fault = faults.take(host, request)
        if fault is None:
            return await handler(request)
        spec = fault.spec
        if fault.kind == "latency":
            await asyncio.sleep(float(spec["seconds"]))
            return await handler(request)
        if fault.kind == "status":
            body = spec.get("body", {"error": "sandbox fault"})
            headers = {str(k): str(v) for k, v in dict(spec.get("headers", {})).items()}
            if isinstance(body, str):
                return web.Response(status=int(spec["status"]), text=body, headers=headers)
            return web.json_response(body, status=int(spec["status"]), headers=headers)
        if spec.get("when", "before") == "after":
            await handler(request)
        _drop(request)
        raise AssertionError("unreachable")

    return middleware
