"""When :mod:`mlc.http` retries, and how long it waits.

Decisions, with their reasons:

* Backoff is exponential with *full jitter*: wait ``uniform(0, min(max_delay, base_delay *
  2**n))`` before retry ``n`` (n = 0, 1, …), which spreads clients that failed together (AWS
  Architecture Blog, "Exponential Backoff And Jitter").
* ``Retry-After`` (RFC 9110 §10.2.3, delta-seconds or HTTP-date) replaces the backoff when the
  server sends it on 429 or 503; Anaplan Connect honours both forms (reference/anaplan.md). A wait
  longer than ``max_retry_after`` is not shortened (the server would refuse again) but makes the
  call fail at once with the requested wait on the error, so the caller can reschedule.
* Each call has a budget: at most ``max_attempts`` attempts *and* at most ``max_total_wait``
  seconds spent waiting between them.
* Statuses retried: 429 always (nothing ran); 502, 503, 504 and 500 only for idempotent requests.
  500 is included because Anaplan documents it as transient (reference/anaplan.md); a 500 that is
  a deterministic server bug costs a few bounded retries of a safe request.
* Transport failures are sorted by whether the request can have reached the server. Failures
  while connecting (refused, DNS, connect timeout) happened before anything was sent and are
  retried for every request. Dropped connections, payload errors and read timeouts may follow a
  request the server already executed: retried only when idempotent. TLS and fingerprint failures
  are configuration problems and never retried.
"""

from __future__ import annotations

import email.utils
import enum
import math
import random
from dataclasses import dataclass

import aiohttp

RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """The retry budget of one call."""

    #: Attempts in total, the first included (1 = never retry).
    max_attempts: int = 5
    #: Upper bound of the first backoff wait, in seconds; doubles with every retry.
    base_delay: float = 0.5
    #: Upper bound of any single backoff wait.
    max_delay: float = 30.0
    #: The longest ``Retry-After`` honoured; a longer request fails the call at once.
    max_retry_after: float = 120.0
    #: The most time one call may spend waiting between attempts, all waits together.
    max_total_wait: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if min(self.base_delay, self.max_delay, self.max_retry_after, self.max_total_wait) < 0:
            raise ValueError("retry delays must not be negative")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The full-jitter wait before retry number ``retry`` (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(retry, 62))
        return rng.uniform(0.0, ceiling)


#: For calls that must not repeat at all.
NO_RETRY = RetryPolicy(max_attempts=1)


class RetryBudget:
    """Attempts made and time waited in one call, against its :class:`RetryPolicy`."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.attempts = 0
        self.retries = 0
        self.waited = 0.0

    def refusal(self, wait: float) -> str | None:
        """Why waiting ``wait`` and trying again is not allowed, or ``None`` when it is."""
        if self.attempts >= self.policy.max_attempts:
            return f"gave up after {self.attempts} attempts and {self.waited:.1f} s of waiting"
        if self.waited + wait > self.policy.max_total_wait:
            return (
                f"gave up after {self.attempts} attempts: waiting {wait:.1f} s more would exceed "
                f"the {self.policy.max_total_wait:g} s retry budget"
            )
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header; ``now`` is the epoch time for HTTP-dates.

    ``None`` when the header is missing or unreadable (the backoff applies then); a date in the
    past means "now" (0).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None


class Failure(enum.Enum):
    """Where a transport failure happened, which decides whether it may be retried."""

    BEFORE_SEND = "before_send"
    IN_FLIGHT = "in_flight"
    FATAL = "fatal"


def classify(exc: BaseException) -> tuple[Failure, str]:
    """Sort a transport exception, and name it for the retry metric's ``reason`` label."""
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        return Failure.FATAL, "tls"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Failure.BEFORE_SEND, "connect_timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Failure.BEFORE_SEND, "connect_error"
    if isinstance(exc, TimeoutError):
        return Failure.IN_FLIGHT, "timeout"
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientConnectionError):
        return Failure.IN_FLIGHT, "connection_lost"
    return Failure.FATAL, "client_error"


def describe_exception(exc: BaseException) -> str:
    """A short description of a transport failure, without the URL (which may carry a query)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", None) or "verification failed"
        return f"TLS certificate not accepted: {reason}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "timed out connecting"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or 'refused'})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body incomplete"
    return type(exc).__name__
