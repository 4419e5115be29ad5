"""Dropped connections and timeouts: idempotent calls retry, others raise OutcomeUnknown."""

from __future__ import annotations

import random
import socket

import anyio
import pytest
from aiohttp import web

from mlc.http import ConnectionFailed, HttpConnection, OutcomeUnknown, RetryPolicy
from mlc.metrics import HTTP_REQUESTS, HTTP_RETRIES
from tests.http.support import (
    RawServer,
    RecordingClock,
    Script,
    drop,
    raw_reply,
    reply,
    serve,
    truncated_body,
)

pytestmark = pytest.mark.anyio

TASKS = "/2/0/models/{model}/imports/{import}/tasks"


def connection(url: str, clock: RecordingClock, total_timeout: float = 120.0) -> HttpConnection:
    return HttpConnection(
        "epicor.test", url, clock=clock, rng=random.Random(2), total_timeout=total_timeout
    )


async def test_get_is_retried_after_the_server_drops_the_connection() -> None:
    clock = RecordingClock()
    server = RawServer([drop, raw_reply(200, b"rows")])
    lost = HTTP_RETRIES.labels(system="epicor", reason="connection_lost")
    before = lost.value
    async with server.running() as url, connection(url, clock) as http:
        response = await http.request("GET", "/api/v2/odata/C/GLAccts", route="/odata/GLAccts")

    assert response.body == b"rows"
    assert len(server.requests) == 2
    assert len(clock.sleeps) == 1
    assert lost.value - before == 1


async def test_get_is_retried_after_a_truncated_body() -> None:
    clock = RecordingClock()
    server = RawServer([truncated_body, raw_reply(200, b"complete")])
    async with server.running() as url, connection(url, clock) as http:
        response = await http.request("GET", "/file", route="/file")

    assert response.body == b"complete"
    assert len(server.requests) == 2


async def test_post_with_a_dropped_connection_raises_outcome_unknown_after_one_request() -> None:
    clock = RecordingClock()
    server = RawServer([drop, raw_reply(200)])
    errors = HTTP_REQUESTS.labels(system="epicor", route=TASKS, status="error")
    before = errors.value
    async with server.running() as url, connection(url, clock) as http:
        with pytest.raises(OutcomeUnknown) as caught:
            await http.request(
                "POST",
                "/2/0/models/M1/imports/I1/tasks",
                route=TASKS,
                json={"localeName": "en_US"},
            )

    assert len(server.requests) == 1
    assert server.requests[0].startswith(b"POST /2/0/models/M1/imports/I1/tasks ")
    assert clock.sleeps == []
    assert errors.value - before == 1
    error = caught.value
    assert error.call == "epicor.test: POST /2/0/models/M1/imports/I1/tasks"
    assert error.status is None
    assert "server closed the connection" in str(error)
    assert "check before sending it again" in str(error)


async def test_post_with_a_truncated_response_is_outcome_unknown() -> None:
    clock = RecordingClock()
    server = RawServer([truncated_body])
    async with server.running() as url, connection(url, clock) as http:
        with pytest.raises(OutcomeUnknown, match="response body incomplete"):
            await http.request("POST", "/journal", route="/journal", data=b"line")

    assert len(server.requests) == 1


async def test_post_answered_with_503_is_outcome_unknown_not_retried() -> None:
    clock = RecordingClock()
    script = Script([reply(503, "busy"), reply(200)])
    async with serve(script) as url, connection(url, clock) as http:
        with pytest.raises(OutcomeUnknown) as caught:
            await http.request("POST", "/2/0/models/M1/imports/I1/tasks", route=TASKS)

    assert len(script.seen) == 1
    assert caught.value.status == 503
    assert str(caught.value).startswith(
        "epicor.test: POST /2/0/models/M1/imports/I1/tasks → 503 Service Unavailable: busy"
    )


async def test_post_on_429_is_retried_because_nothing_ran() -> None:
    clock = RecordingClock()
    script = Script([reply(429, headers={"Retry-After": "2"}), reply(201, "task started")])
    async with serve(script) as url, connection(url, clock) as http:
        response = await http.request(
            "POST", "/2/0/models/M1/imports/I1/tasks", route=TASKS, data=b'{"localeName":"x"}'
        )

    assert (response.status, response.body) == (201, b"task started")
    assert [seen.body for seen in script.seen] == [b'{"localeName":"x"}'] * 2
    assert clock.sleeps == [2.0]


async def test_body_factory_is_called_for_every_attempt() -> None:
    clock = RecordingClock()
    script = Script([reply(429, headers={"Retry-After": "0"}), reply(204, b"")])
    made: list[int] = []

    def body() -> bytes:
        made.append(len(made))
        return b"chunk-%d" % len(made)

    async with serve(script) as url, connection(url, clock) as http:
        await http.request("PUT", "/files/F1/chunks/0", route="/files/{file}/chunks/{n}", data=body)

    assert [seen.body for seen in script.seen] == [b"chunk-1", b"chunk-2"]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_post_to_a_refused_port_is_retried_as_nothing_was_sent() -> None:
    clock = RecordingClock()
    port = unused_port()
    refused = HTTP_RETRIES.labels(system="epicor", reason="connect_error")
    before = refused.value
    policy = RetryPolicy(max_attempts=3)
    async with HttpConnection(
        "epicor.test", f"http://127.0.0.1:{port}", clock=clock, retry=policy
    ) as http:
        with pytest.raises(ConnectionFailed) as caught:
            await http.request("POST", "/journal", route="/journal", data=b"x")

    assert not isinstance(caught.value, OutcomeUnknown)
    assert len(clock.sleeps) == 2
    assert refused.value - before == 2
    assert f"cannot connect to 127.0.0.1:{port}" in str(caught.value)
    assert "gave up after 3 attempts" in str(caught.value)


async def test_post_succeeds_once_a_refusing_server_comes_up() -> None:
    port = unused_port()
    script = Script([reply(201, "posted")])
    app_started = anyio.Event()

    class StartServerOnSleep(RecordingClock):
        async def sleep(self, seconds: float) -> None:
            await super().sleep(seconds)
            if not app_started.is_set():
                app = web.Application()
                app.router.add_route("*", "/{tail:.*}", script.handle)
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                await web.TCPSite(runner, "127.0.0.1", port).start()
                self.runner = runner
                app_started.set()

    clock = StartServerOnSleep()
    async with HttpConnection("epicor.test", f"http://127.0.0.1:{port}", clock=clock) as http:
        response = await http.request("POST", "/journal", route="/journal", data=b"x")
    await clock.runner.cleanup()

    assert response.body == b"posted"
    assert len(script.seen) == 1
    assert len(clock.sleeps) == 1


async def test_post_timing_out_is_outcome_unknown_and_get_timing_out_is_retried() -> None:
    release = anyio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(text="late")

    clock = RecordingClock()
    script = Script([hang, hang, reply(200, "fast")])
    async with serve(script) as url, connection(url, clock, total_timeout=0.2) as http:
        try:
            with pytest.raises(OutcomeUnknown, match="timed out"):
                await http.request("POST", "/x", route="/x")
            response = await http.request("GET", "/x", route="/x")
        finally:
            release.set()

    assert response.body == b"fast"
    assert len(script.seen) == 3
    assert len(clock.sleeps) == 1


async def test_put_declared_non_idempotent_is_sent_once_even_though_aiohttp_would_resend_it() -> (
    None
):
    clock = RecordingClock()
    server = RawServer([drop, raw_reply(200)])
    async with server.running() as url, connection(url, clock) as http:
        with pytest.raises(OutcomeUnknown):
            await http.request("PUT", "/budget/2026", route="/budget/{year}", idempotent=False)

    assert len(server.requests) == 1
