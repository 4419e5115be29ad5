"""The pure parts of the retry policy: full-jitter backoff, Retry-After, failure sorting."""

from __future__ import annotations

import email.utils
import random

import aiohttp
import pytest

from mlc.http_retry import Failure, RetryPolicy, classify, parse_retry_after

NOW = 1_767_225_600.0


def test_full_jitter_stays_under_the_capped_exponential() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)

    for retry, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0]):
        waits = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(0.0 <= wait <= ceiling for wait in waits)
        assert max(waits) > ceiling * 0.8  # full jitter reaches up to the ceiling


def test_backoff_is_reproducible_with_a_seeded_random() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0)
    expected = random.Random(3)
    rng = random.Random(3)

    waits = [policy.backoff(n, rng) for n in range(4)]

    assert waits == [expected.uniform(0, min(30.0, 2.0**n)) for n in range(4)]


def test_huge_retry_numbers_do_not_overflow() -> None:
    assert 0.0 <= RetryPolicy(max_delay=10).backoff(10_000, random.Random(1)) <= 10.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("\u00b2", None),
        (None, None),
    ],
)
def test_retry_after_forms(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay=-1)


def test_failures_are_sorted_by_whether_the_request_was_sent() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))

    assert classify(refused) == (Failure.BEFORE_SEND, "connect_error")
    assert classify(aiohttp.ConnectionTimeoutError()) == (Failure.BEFORE_SEND, "connect_timeout")
    assert classify(aiohttp.SocketTimeoutError()) == (Failure.IN_FLIGHT, "timeout")
    assert classify(TimeoutError()) == (Failure.IN_FLIGHT, "timeout")
    assert classify(aiohttp.ServerDisconnectedError()) == (Failure.IN_FLIGHT, "connection_lost")
    assert classify(aiohttp.ClientPayloadError()) == (Failure.IN_FLIGHT, "connection_lost")
    assert classify(aiohttp.ServerFingerprintMismatch(b"a", b"b", "h", 1)) == (
        Failure.FATAL,
        "tls",
    )
    assert classify(aiohttp.InvalidURL("x")) == (Failure.FATAL, "client_error")
