"""Streaming downloads: retried up to the headers, read in chunks, failures named."""

from __future__ import annotations

import pytest
from aiohttp import web

from mlc.http import ConnectionFailed, HttpConnection, HttpServerError, RetryPolicy
from tests.http.support import (
    RawServer,
    RecordingClock,
    Script,
    reply,
    serve,
    truncated_body,
)

pytestmark = pytest.mark.anyio

CHUNK = "/2/0/models/{model}/files/{file}/chunks/{n}"
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


async def chunked_payload(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    for start in range(0, len(PAYLOAD), 100_000):
        await response.write(PAYLOAD[start : start + 100_000])
    await response.write_eof()
    return response


async def test_large_body_streams_in_bounded_chunks_after_a_retried_503() -> None:
    clock = RecordingClock()
    script = Script([reply(503), chunked_payload])
    async with serve(script) as url, HttpConnection("anaplan.fpa", url, clock=clock) as http:
        async with http.stream("GET", "/2/0/models/M/files/F/chunks/0", route=CHUNK) as response:
            assert response.status == 200
            chunks = [chunk async for chunk in response.iter_chunks(64 * 1024)]

    assert b"".join(chunks) == PAYLOAD
    assert max(len(chunk) for chunk in chunks) <= 64 * 1024
    assert len(clock.sleeps) == 1
    assert len(script.seen) == 2


async def test_stream_raises_like_request_for_error_statuses() -> None:
    script = Script([reply(503, "down")])
    policy = RetryPolicy(max_attempts=2)
    async with serve(script) as url:
        async with HttpConnection("anaplan.fpa", url, clock=RecordingClock(), retry=policy) as http:
            with pytest.raises(HttpServerError, match="503 Service Unavailable: down"):
                async with http.stream("GET", "/f", route="/f"):
                    pytest.fail("an error status must not be yielded")


async def test_expected_error_status_is_yielded_with_its_body_unread() -> None:
    script = Script([reply(404, "no such chunk")])
    async with serve(script) as url, HttpConnection("a.b", url, clock=RecordingClock()) as http:
        async with http.stream("GET", "/f", route="/f", expected={200, 404}) as response:
            assert response.status == 404
            assert await response.read() == b"no such chunk"


async def test_a_body_cut_short_raises_connection_failed_naming_the_call() -> None:
    server = RawServer([truncated_body])
    async with (
        server.running() as url,
        HttpConnection("anaplan.fpa", url, clock=RecordingClock()) as http,
    ):
        async with http.stream("GET", "/2/0/models/M/files/F/chunks/3", route=CHUNK) as response:
            with pytest.raises(ConnectionFailed) as caught:
                await response.read()

    message = str(caught.value)
    assert message.startswith("anaplan.fpa: GET /2/0/models/M/files/F/chunks/3 → no response")
    assert "while reading the body" in message
