"""Retries against real HTTP on 127.0.0.1: 429 with Retry-After, 5xx, budgets, limiter, metrics."""

from __future__ import annotations

import email.utils
import random

import pytest
from aiolimiter import AsyncLimiter

from mlc.http import HttpConnection, HttpServerError, RateLimited, RetryPolicy
from mlc.metrics import HTTP_REQUESTS, HTTP_RETRIES, RATE_LIMIT_WAITS
from tests.http.support import RecordingClock, Script, reply, serve

pytestmark = pytest.mark.anyio

ROUTE = "/2/0/models/{model}/imports"


def connection(
    base_url: str, clock: RecordingClock, retry: RetryPolicy | None = None
) -> HttpConnection:
    return HttpConnection("anaplan.test", base_url, clock=clock, rng=random.Random(1), retry=retry)


async def test_429_with_retry_after_seconds_waits_that_long() -> None:
    clock = RecordingClock()
    script = Script([reply(429, "slow down", {"Retry-After": "7"}), reply(200, "done")])
    async with serve(script) as url, connection(url, clock) as http:
        response = await http.request("GET", "/2/0/models/M1/imports", route=ROUTE)

    assert (response.status, response.body) == (200, b"done")
    assert clock.sleeps == [7.0]
    assert len(script.seen) == 2


async def test_429_with_retry_after_http_date() -> None:
    clock = RecordingClock()
    when = email.utils.formatdate(clock.time() + 30, usegmt=True)
    script = Script([reply(429, headers={"Retry-After": when}), reply(200)])
    async with serve(script) as url, connection(url, clock) as http:
        response = await http.request("GET", "/x", route="/x")

    assert response.status == 200
    assert clock.sleeps == [30.0]


async def test_503_then_200_backs_off_with_full_jitter_and_counts_metrics() -> None:
    clock = RecordingClock()
    script = Script([reply(503), reply(200)])
    requests_503 = HTTP_REQUESTS.labels(system="anaplan", route=ROUTE, status="503")
    requests_200 = HTTP_REQUESTS.labels(system="anaplan", route=ROUTE, status="200")
    retries = HTTP_RETRIES.labels(system="anaplan", reason="503")
    before = (requests_503.value, requests_200.value, retries.value)
    policy = RetryPolicy(base_delay=2.0)
    async with serve(script) as url, connection(url, clock, retry=policy) as http:
        await http.request("GET", "/2/0/models/M1/imports", route=ROUTE)

    assert clock.sleeps == [random.Random(1).uniform(0, 2.0)]
    after = (requests_503.value, requests_200.value, retries.value)
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


async def test_backoff_grows_exponentially_with_jitter_until_the_budget_ends() -> None:
    clock = RecordingClock()
    script = Script([reply(502, "bad gateway")])
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=3.0)
    async with serve(script) as url, connection(url, clock, retry=policy) as http:
        with pytest.raises(HttpServerError) as caught:
            await http.request("GET", "/2/0/workspaces", route="/2/0/workspaces")

    rng = random.Random(1)
    assert clock.sleeps == [rng.uniform(0, c) for c in (1.0, 2.0, 3.0)]
    assert len(script.seen) == 4
    assert caught.value.status == 502
    assert caught.value.attempts == 4
    message = str(caught.value)
    assert message.startswith("anaplan.test: GET /2/0/workspaces → 502 Bad Gateway: bad gateway")
    assert "gave up after 4 attempts" in message


async def test_total_wait_budget_stops_retries_before_the_attempt_limit() -> None:
    clock = RecordingClock()
    script = Script([reply(503, headers={"Retry-After": "40"})])
    policy = RetryPolicy(max_attempts=10, max_total_wait=60.0)
    async with serve(script) as url, connection(url, clock, retry=policy) as http:
        with pytest.raises(HttpServerError, match="would exceed the 60 s retry budget") as caught:
            await http.request("GET", "/x", route="/x")

    assert clock.sleeps == [40.0]
    assert caught.value.attempts == 2
    assert caught.value.retry_after == 40.0


async def test_retry_after_beyond_the_cap_fails_at_once_with_the_requested_wait() -> None:
    clock = RecordingClock()
    script = Script([reply(429, "quota", {"Retry-After": "3600"})])
    async with serve(script) as url, connection(url, clock) as http:
        with pytest.raises(RateLimited, match="server asked to wait 3600 s") as caught:
            await http.request("GET", "/x", route="/x")

    assert clock.sleeps == []
    assert len(script.seen) == 1
    assert caught.value.retry_after == 3600.0


async def test_429_exhausting_the_budget_raises_rate_limited() -> None:
    clock = RecordingClock()
    script = Script([reply(429, headers={"Retry-After": "1"})])
    async with (
        serve(script) as url,
        connection(url, clock, retry=RetryPolicy(max_attempts=3)) as http,
    ):
        with pytest.raises(RateLimited, match=r"gave up after 3 attempts and 2\.0 s of waiting"):
            await http.request("GET", "/x", route="/x")

    assert clock.sleeps == [1.0, 1.0]


async def test_500_is_retried_for_idempotent_requests_but_other_5xx_are_not() -> None:
    clock = RecordingClock()
    script = Script([reply(500), reply(200)])
    async with serve(script) as url, connection(url, clock) as http:
        assert (await http.request("GET", "/x", route="/x")).status == 200

    script = Script([reply(501, "not implemented")])
    async with serve(script) as url, connection(url, clock) as http:
        with pytest.raises(HttpServerError, match="501 Not Implemented"):
            await http.request("GET", "/x", route="/x")
    assert len(script.seen) == 1


async def test_client_errors_are_not_retried() -> None:
    clock = RecordingClock()
    script = Script([reply(404, '{"status":{"message":"Not Found"}}')])
    async with serve(script) as url, connection(url, clock) as http:
        with pytest.raises(Exception, match=r"GET /2/0/models/M9 → 404 Not Found") as caught:
            await http.request("GET", "/2/0/models/M9", route="/2/0/models/{model}")

    assert type(caught.value).__name__ == "HttpClientError"
    assert len(script.seen) == 1
    assert clock.sleeps == []


async def test_rate_limiter_is_acquired_for_every_attempt_and_waits_are_counted() -> None:
    class TightLimiter:
        """Behaves like an exhausted AsyncLimiter: reports no capacity, then lets through."""

        def __init__(self) -> None:
            self.acquired = 0

        def has_capacity(self, amount: float = 1) -> bool:
            return False

        async def acquire(self, amount: float = 1) -> None:
            self.acquired += 1

    clock = RecordingClock()
    limiter = TightLimiter()
    waits = RATE_LIMIT_WAITS.labels(system="limited")
    before = waits.value
    script = Script([reply(503), reply(200)])
    async with serve(script) as url:
        async with HttpConnection(
            "limited.a", url, clock=clock, rng=random.Random(1), limiter=limiter
        ) as http:
            await http.request("GET", "/x", route="/x")

    assert limiter.acquired == 2
    assert waits.value - before == 2


async def test_a_real_aiolimiter_with_capacity_counts_no_waits() -> None:
    clock = RecordingClock()
    waits = RATE_LIMIT_WAITS.labels(system="roomy")
    before = waits.value
    script = Script([reply(200)])
    async with serve(script) as url:
        async with HttpConnection(
            "roomy.a", url, clock=clock, limiter=AsyncLimiter(600, 60)
        ) as http:
            for _ in range(3):
                await http.request("GET", "/x", route="/x")

    assert waits.value == before
    assert len(script.seen) == 3


async def test_expected_statuses_are_returned_without_retry() -> None:
    clock = RecordingClock()
    script = Script([reply(404, "no such posting"), reply(503)])
    async with serve(script) as url, connection(url, clock) as http:
        response = await http.request("GET", "/x", route="/x", expected={200, 404})
        assert (response.status, response.text()) == (404, "no such posting")
        response = await http.request("GET", "/x", route="/x", expected={503})

    assert response.status == 503
    assert clock.sleeps == []


async def test_query_params_json_body_and_base_path_are_sent() -> None:
    clock = RecordingClock()
    script = Script([reply(201, '{"id": "T1"}')])
    async with serve(script) as url:
        async with connection(f"{url}/ERP11/", clock) as http:
            response = await http.request(
                "POST",
                "/api/v2/odata/EPIC06/Erp.BO.GLBudgetSvc/GLBudgets",
                route="/api/v2/odata/{company}/Erp.BO.GLBudgetSvc/GLBudgets",
                params={"$top": 100},
                json={"BookID": "MAIN", "Amount": 12.5},
                idempotent=True,
            )

    assert response.json() == {"id": "T1"}
    seen = script.seen[0]
    assert seen.path == "/ERP11/api/v2/odata/EPIC06/Erp.BO.GLBudgetSvc/GLBudgets"
    assert seen.query == "$top=100"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.body == b'{"BookID":"MAIN","Amount":12.5}'
    assert seen.headers["User-Agent"].startswith("ml-connector/")
