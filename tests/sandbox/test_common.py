"""The shared sandbox harness: counters, injected faults and the clock, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import aiohttp
import pytest
from aiohttp import web

from mlc.sandbox.common.app import new_host_app
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.control import SandboxControl
from mlc.sandbox.common.server import serve_emulator

pytestmark = pytest.mark.anyio


class TinyEmulator:
    """One host with one action that counts how often it really ran."""

    def __init__(self) -> None:
        self.ctl = SandboxControl(clock=SandboxClock(), reset_state=self._reset)
        self.ran = 0
        app = new_host_app(self.ctl, "api")
        app.router.add_post("/things/{thing_id}/run", self._run)
        app.router.add_get("/now", self._now)
        self._apps = {"api": app}

    async def _reset(self) -> None:
        self.ran = 0

    async def _run(self, request: web.Request) -> web.Response:
        self.ran += 1
        return web.json_response({"ran": self.ran})

    async def _now(self, _: web.Request) -> web.Response:
        return web.json_response({"time": self.ctl.clock.time()})

    @property
    def apps(self) -> Mapping[str, web.Application]:
        return self._apps

    def describe(self, urls: Mapping[str, str]) -> dict[str, object]:
        return {"api_url": urls["api"]}


@pytest.fixture
async def served() -> AsyncIterator[tuple[TinyEmulator, str, aiohttp.ClientSession]]:
    emulator = TinyEmulator()
    async with serve_emulator(emulator) as urls, aiohttp.ClientSession() as http:
        yield emulator, urls["api"], http


async def counters(http: aiohttp.ClientSession, base: str) -> dict[str, object]:
    async with http.get(f"{base}/_sandbox/counters") as response:
        body: dict[str, object] = await response.json()
        return body


async def test_requests_are_counted_by_route_template(
    served: tuple[TinyEmulator, str, aiohttp.ClientSession],
) -> None:
    _, base, http = served
    for thing in ("a", "b"):
        async with http.post(f"{base}/things/{thing}/run") as response:
            assert response.status == 200
    async with http.get(f"{base}/nowhere") as response:
        assert response.status == 404
    snapshot = await counters(http, base)
    assert snapshot["requests"] == [
        {"host": "api", "method": "GET", "route": "<unmatched>", "status": 404, "count": 1},
        {
            "host": "api",
            "method": "POST",
            "route": "/things/{thing_id}/run",
            "status": 200,
            "count": 2,
        },
    ]


async def test_status_fault_answers_instead_of_the_handler(
    served: tuple[TinyEmulator, str, aiohttp.ClientSession],
) -> None:
    emulator, base, http = served
    fault = {
        "kind": "status",
        "status": 503,
        "count": 2,
        "route": "/run$",
        "headers": {"Retry-After": "3"},
    }
    async with http.post(f"{base}/_sandbox/faults", json=fault) as response:
        assert response.status == 201
    statuses = []
    for _ in range(3):
        async with http.post(f"{base}/things/x/run") as response:
            statuses.append((response.status, response.headers.get("Retry-After")))
    assert statuses == [(503, "3"), (503, "3"), (200, None)]
    assert emulator.ran == 1


async def test_drop_after_runs_the_action_but_loses_the_response(
    served: tuple[TinyEmulator, str, aiohttp.ClientSession],
) -> None:
    emulator, base, http = served
    async with http.post(
        f"{base}/_sandbox/faults", json={"kind": "drop", "when": "after"}
    ) as response:
        assert response.status == 201
    with pytest.raises(aiohttp.ClientError):
        async with http.post(f"{base}/things/x/run") as response:
            await response.read()
    assert emulator.ran == 1
    snapshot = await counters(http, base)
    assert {
        "host": "api",
        "method": "POST",
        "route": "/things/{thing_id}/run",
        "status": 0,
        "count": 1,
    } in snapshot["requests"]  # type: ignore[operator]


async def test_unknown_fault_kind_is_a_clear_400(
    served: tuple[TinyEmulator, str, aiohttp.ClientSession],
) -> None:
    _, base, http = served
    async with http.post(f"{base}/_sandbox/faults", json={"kind": "meteor"}) as response:
        assert response.status == 400
        assert "unknown fault kind 'meteor'" in (await response.json())["error"]


async def test_clock_advances_and_reset_restores(
    served: tuple[TinyEmulator, str, aiohttp.ClientSession],
) -> None:
    emulator, base, http = served
    async with http.get(f"{base}/now") as response:
        before = (await response.json())["time"]
    async with http.post(f"{base}/_sandbox/clock", json={"advance": 2100}) as response:
        assert response.status == 200
    async with http.get(f"{base}/now") as response:
        assert (await response.json())["time"] >= before + 2100
    async with http.post(f"{base}/things/x/run"):
        pass
    async with http.post(f"{base}/_sandbox/reset") as response:
        assert response.status == 200
    assert emulator.ran == 0
    assert emulator.ctl.clock.offset == 0
    assert (await counters(http, base))["requests"] == []
