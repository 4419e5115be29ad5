"""The ``/_sandbox/`` control routes, served on every host of an emulator.

They live outside the emulated API (no real system has them) and need no credentials: the sandbox
only listens on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.counters import RequestCounters
from mlc.sandbox.common.faults import FaultError, Faults


@dataclass(eq=False)
class SandboxControl:
    """What the control routes act on; one per emulator, shared by all of its hosts."""

    clock: SandboxClock
    counters: RequestCounters = field(default_factory=RequestCounters)
    faults: Faults = field(default_factory=Faults)
    #: Puts the emulator's data back to its seed (called by ``POST /_sandbox/reset``).
    reset_state: Callable[[], Awaitable[None]] | None = None

    async def reset(self) -> None:
        if self.reset_state is not None:
            await self.reset_state()
        self.counters.reset()
        self.faults.clear()
        self.clock.reset()


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    try:
        body = await request.json(loads=json.loads)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


def add_control_routes(app: web.Application, ctl: SandboxControl) -> None:
    async def counters(_: web.Request) -> web.Response:
        return web.json_response(ctl.counters.snapshot())

    async def reset_counters(_: web.Request) -> web.Response:
        ctl.counters.reset()
        return web.json_response({"reset": True})

    async def add_fault(request: web.Request) -> web.Response:
        spec = await read_json_object(request)
        try:
            created = await ctl.faults.add(spec)
        except FaultError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(created, status=201)

    async def list_faults(_: web.Request) -> web.Response:
        active = [
            {"id": f.id, "remaining": f.remaining, **f.spec} for f in ctl.faults.active
        ]
        return web.json_response({"faults": active})

    async def clear_faults(_: web.Request) -> web.Response:
        ctl.faults.clear()
        return web.json_response({"cleared": True})

    async def get_clock(_: web.Request) -> web.Response:
        return web.json_response({"time": ctl.clock.time(), "offset": ctl.clock.offset})

    async def move_clock(request: web.Request) -> web.Response:
        body = await read_json_object(request)
        seconds = body.get("advance")
        if not isinstance(seconds, int | float) or seconds < 0:
            return web.json_response(
                {"error": "'advance' must be a non-negative number of seconds"}, status=400
            )
        ctl.clock.advance(float(seconds))
        return web.json_response({"time": ctl.clock.time(), "offset": ctl.clock.offset})

    async def reset(_: web.Request) -> web.Response:
        await ctl.reset()
        return web.json_response({"reset": True})

    app.router.add_get("/_sandbox/counters", counters)
    app.router.add_post("/_sandbox/counters/reset", reset_counters)
    app.router.add_get("/_sandbox/faults", list_faults)
    app.router.add_post("/_sandbox/faults", add_fault)
    app.router.add_delete("/_sandbox/faults", clear_faults)
    app.router.add_get("/_sandbox/clock", get_clock)
    app.router.add_post("/_sandbox/clock", move_clock)
    app.router.add_post("/_sandbox/reset", reset)
