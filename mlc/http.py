"""One HTTP connection per configured system account: retries, backoff, auth refresh, metrics.

An :class:`HttpConnection` owns one ``aiohttp.ClientSession`` (TLS verified by default) and sends
every request of one connection (``anaplan.fpa``, ``epicor.main``) through one retry loop:

* before every attempt: fresh headers from the call's :class:`Authenticator`, and a slot from the
  optional :class:`RateLimiter` (Anaplan's per-tenant ``aiolimiter.AsyncLimiter``);
* 401: ``on_rejected`` once (the TokenKeeper refreshes), then one more attempt outside the
  retry budget; a second 401 is :class:`AuthenticationFailed`;
* retries, waits and idempotency as decided in :mod:`mlc.http_retry`; a non-idempotent request
  that may have reached the server raises :class:`OutcomeUnknown` rather than repeat;
* redirects are not followed (a redirect would carry credential headers to another origin);
  a 3xx is an error unless listed in ``expected``;
* every attempt counts in ``mlc_http_requests_total{system,route,status}`` and the duration
  histogram; every retry in ``mlc_http_retries_total{system,reason}``.

Logs go to ``mlc.http`` with the route template, never headers, query strings or bodies.
"""

from __future__ import annotations

import logging
import random
import ssl
from collections.abc import AsyncIterator, Callable, Container, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import msgspec
from yarl import URL

from mlc import __version__
from mlc.http_errors import (
    AuthenticationFailed,
    ConnectionFailed,
    HttpClientError,
    HttpError,
    HttpServerError,
    InvalidResponse,
    OutcomeUnknown,
    RateLimited,
    sensitive_values,
)
from mlc.http_response import UNKNOWN_OUTCOME_NOTE, HttpCall, HttpResponse, StreamingResponse
from mlc.http_retry import (
    NO_RETRY,
    RETRYABLE_SERVER_STATUSES,
    Failure,
    RetryBudget,
    RetryPolicy,
    classify,
    describe_exception,
    parse_retry_after,
)
from mlc.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS, HTTP_RETRIES, RATE_LIMIT_WAITS
from mlc.runtime.clock import Clock, SystemClock

__all__ = [
    "NO_RETRY",
    "AuthenticationFailed",
    "Authenticator",
    "ConnectionFailed",
    "HttpClientError",
    "HttpConnection",
    "HttpError",
    "HttpResponse",
    "HttpServerError",
    "InvalidResponse",
    "OutcomeUnknown",
    "RateLimited",
    "RateLimiter",
    "RetryPolicy",
    "StreamingResponse",
]

log = logging.getLogger("mlc.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: A request body: bytes or text sent as is, or a factory called for every attempt (for bodies
#: that can only be read once, such as an open spool file).
Body = bytes | str | Callable[[], Any]
Params = Mapping[str, str | int | float] | Sequence[tuple[str, str | int | float]]


class Authenticator(Protocol):
    """Signs requests; implemented over the connection's TokenKeeper."""

    async def headers(self) -> Mapping[str, str]:
        """Headers carrying the current credentials (``Authorization``, ``x-api-key``, …)."""
        ...

    async def on_rejected(self, sent_headers: Mapping[str, str]) -> None:
        """The server answered 401 to a request sent with ``sent_headers``; refresh."""
        ...


class RateLimiter(Protocol):
    """The part of ``aiolimiter.AsyncLimiter`` the connection uses."""

    def has_capacity(self, amount: float = 1) -> bool: ...

    async def acquire(self, amount: float = 1) -> None: ...


@dataclass(frozen=True)
class _Send:
    """What aiohttp needs to send one attempt."""

    url: URL
    params: Params | None
    headers: Mapping[str, str]
    data: Body | None

    def body(self) -> Any:
        return self.data() if callable(self.data) else self.data


def _accepts(status: int, expected: Container[int] | None) -> bool:
    return status in expected if expected is not None else 200 <= status < 300


class HttpConnection:
    """The HTTP side of one connection: base URL, session, timeouts, limiter, retry policy.

    Use as ``async with HttpConnection(...) as http:`` or call :meth:`aclose`; the session opens
    on first use, inside the running event loop.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        system: str | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        connect_timeout: float = 10.0,
        total_timeout: float = 120.0,
        read_timeout: float | None = None,
        verify_tls: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 10,
    ) -> None:
        """
        :param name: the connection name for messages and logs (``anaplan.fpa``).
        :param base_url: scheme, host and optional base path (Epicor's instance); request
            paths are appended to it.
        :param system: the ``system`` metric label; defaults to ``name`` up to the first dot.
        :param read_timeout: longest silence while reading; for :meth:`stream` it replaces the
            total timeout, which would cap a large download.
        :param verify_tls: ``False`` turns certificate verification off (never in production).
        :param ssl_context: to trust a private CA (on-premises Epicor); verification stays on.
        """
        self.name = name
        self.system = system or name.split(".", 1)[0]
        self.base_url = URL(base_url)
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.default_headers = {"User-Agent": f"ml-connector/{__version__}", **(headers or {})}
        self._timeout = aiohttp.ClientTimeout(
            total=total_timeout, connect=connect_timeout, sock_read=read_timeout
        )
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout or total_timeout
        )
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else verify_tls
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ssl=self._ssl)
            session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
            _disable_aiohttp_retry(session)
            self._session = session
        return self._session

    def url_for(self, path_or_url: str) -> URL:
        """An absolute URL as is; a path appended to the base URL (keeping the base's path)."""
        if path_or_url.startswith(("http://", "https://")):
            return URL(path_or_url)
        base = str(self.base_url).rstrip("/")
        return URL(f"{base}/{path_or_url.lstrip('/')}")

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        route: str,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        data: Body | None = None,
        idempotent: bool | None = None,
        expected: Container[int] | None = None,
        auth: Authenticator | None = None,
        retry: RetryPolicy | None = None,
    ) -> HttpResponse:
        """Send a request and read the whole response.

        :param route: the route template for metrics (``/2/0/models/{model}/imports``).
        :param json: a value msgspec can encode, sent as ``application/json``.
        :param data: bytes or text sent as is, or a factory called for every attempt.
        :param idempotent: whether repeating the request is harmless; defaults to the method's
            RFC 9110 meaning (GET, HEAD, OPTIONS, PUT, DELETE). Pass ``False`` for a PUT that
            is not, ``True`` for a POST that only reads.
        :param expected: statuses returned as they are, without retry or auth handling; by
            default every 2xx.
        :param retry: this call's budget instead of the connection's (``NO_RETRY``).
        :raises HttpError: one of its subclasses, see :mod:`mlc.http_errors`.
        """
        call, send = self._prepare(method, path_or_url, route, params, headers, json, data)
        if idempotent is not None:
            call.idempotent = idempotent
        policy = retry or self.retry
        response, body = await self._send(call, send, expected, auth, policy, stream=False)
        reason = response.reason or ""
        return HttpResponse(response.status, reason, response.headers, body, call)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path_or_url: str,
        *,
        route: str,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        data: Body | None = None,
        idempotent: bool | None = None,
        expected: Container[int] | None = None,
        auth: Authenticator | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncIterator[StreamingResponse]:
        """Like :meth:`request`, but yields the response before reading its body.

        Retries cover everything up to the response headers; read the body inside the
        ``async with`` through :meth:`StreamingResponse.iter_chunks`.
        """
        call, send = self._prepare(method, path_or_url, route, params, headers, json, data)
        if idempotent is not None:
            call.idempotent = idempotent
        policy = retry or self.retry
        response, _ = await self._send(call, send, expected, auth, policy, stream=True)
        try:
            yield StreamingResponse(response, call)
        finally:
            response.release()

    def _prepare(
        self,
        method: str,
        path_or_url: str,
        route: str,
        params: Params | None,
        headers: Mapping[str, str] | None,
        json: object,
        data: Body | None,
    ) -> tuple[HttpCall, _Send]:
        method = method.upper()
        if json is not None and data is not None:
            raise ValueError("pass either json or data, not both")
        call_headers = {**self.default_headers, **(headers or {})}
        if json is not None:
            data = msgspec.json.encode(json)
            call_headers.setdefault("Content-Type", "application/json")
        url = self.url_for(path_or_url)
        call = HttpCall(
            connection=self.name,
            system=self.system,
            method=method,
            url=url,
            route=route,
            idempotent=method in IDEMPOTENT_METHODS,
        )
        return call, _Send(url, params, call_headers, data)

    async def _send(
        self,
        call: HttpCall,
        send: _Send,
        expected: Container[int] | None,
        auth: Authenticator | None,
        policy: RetryPolicy,
        *,
        stream: bool,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        """The retry loop: attempts until an accepted response, or raises."""
        budget = RetryBudget(policy)
        refreshed = False
        while True:
            headers = dict(send.headers)
            if auth is not None:
                headers.update(await auth.headers())
            call.secrets.extend(sensitive_values(headers))
            budget.attempts += 1
            outcome = await self._attempt(call, send, headers, expected, stream=stream)
            if isinstance(outcome, Exception):
                wait, reason = self._after_transport_failure(call, outcome, budget)
                await self._wait(call, budget, wait, reason=reason, status=None)
                continue
            response, body = outcome
            if _accepts(response.status, expected):
                return response, body
            if response.status == 401 and auth is not None and not refreshed:
                refreshed = True
                log.info("http_auth_rejected", extra=call.fields(attempt=budget.attempts))
                HTTP_RETRIES.labels(system=call.system, reason="401").inc()
                await auth.on_rejected(headers)
                continue
            wait = self._after_status(call, response, body, budget)
            await self._wait(
                call, budget, wait, reason=str(response.status), status=response.status
            )

    async def _attempt(
        self,
        call: HttpCall,
        send: _Send,
        headers: Mapping[str, str],
        expected: Container[int] | None,
        *,
        stream: bool,
    ) -> tuple[aiohttp.ClientResponse, bytes] | Exception:
        """One attempt: the response and its body (unread when streaming an accepted
        response), or the transport exception."""
        if self.limiter is not None:
            if not self.limiter.has_capacity():
                RATE_LIMIT_WAITS.labels(system=call.system).inc()
            await self.limiter.acquire()
        started = self.clock.monotonic()
        status = "error"
        try:
            response = await self._client().request(
                call.method,
                send.url,
                params=send.params,
                headers=headers,
                data=send.body(),
                allow_redirects=False,
                timeout=self._stream_timeout if stream else self._timeout,
            )
            try:
                if stream and _accepts(response.status, expected):
                    body = b""
                else:
                    body = await response.read()
            except BaseException:
                response.release()
                raise
            status = str(response.status)
            return response, body
        except (aiohttp.ClientError, TimeoutError) as exc:
            return exc
        finally:
            HTTP_REQUESTS.labels(system=call.system, route=call.route, status=status).inc()
            elapsed = max(0.0, self.clock.monotonic() - started)
            HTTP_REQUEST_DURATION.labels(system=call.system).observe(elapsed)
            log.debug("http_request", extra=call.fields(status=status))

    def _after_transport_failure(
        self, call: HttpCall, exc: Exception, budget: RetryBudget
    ) -> tuple[float, str]:
        """The wait before retrying after ``exc`` and the retry reason, or raise."""
        failure, reason = classify(exc)
        detail = describe_exception(exc)
        if failure is Failure.FATAL:
            raise call.transport_error(ConnectionFailed, detail, attempts=budget.attempts) from None
        if failure is Failure.IN_FLIGHT and not call.idempotent:
            raise call.transport_error(OutcomeUnknown, detail, attempts=budget.attempts) from None
        wait = budget.policy.backoff(budget.retries, self.rng)
        refusal = budget.refusal(wait)
        if refusal is not None:
            detail = f"{detail} ({refusal})"
            raise call.transport_error(ConnectionFailed, detail, attempts=budget.attempts) from None
        return wait, reason

    def _after_status(
        self, call: HttpCall, response: aiohttp.ClientResponse, body: bytes, budget: RetryBudget
    ) -> float:
        """The wait before retrying after an unaccepted status, or raise the matching error."""
        status = response.status
        attempts = budget.attempts
        if status == 401:
            raise call.status_error(AuthenticationFailed, response, body, attempts=attempts)
        if status >= 500 and not call.idempotent:
            raise call.status_error(
                OutcomeUnknown, response, body, attempts=attempts, note=UNKNOWN_OUTCOME_NOTE
            )
        kind = _error_kind(status)
        if status != 429 and status not in RETRYABLE_SERVER_STATUSES:
            raise call.status_error(kind, response, body, attempts=attempts)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.time())
        if retry_after is not None and retry_after > budget.policy.max_retry_after:
            note = (
                f"server asked to wait {retry_after:.0f} s, more than the "
                f"{budget.policy.max_retry_after:g} s this call allows"
            )
        else:
            wait = retry_after
            if wait is None:
                wait = budget.policy.backoff(budget.retries, self.rng)
            refusal = budget.refusal(wait)
            if refusal is None:
                return wait
            note = refusal
        raise call.status_error(
            kind, response, body, attempts=attempts, note=note, retry_after=retry_after
        )

    async def _wait(
        self, call: HttpCall, budget: RetryBudget, wait: float, *, reason: str, status: int | None
    ) -> None:
        HTTP_RETRIES.labels(system=call.system, reason=reason).inc()
        log.warning(
            "http_retry",
            extra=call.fields(
                status=status, reason=reason, attempt=budget.attempts, wait_s=round(wait, 3)
            ),
        )
        budget.retries += 1
        budget.waited += wait
        await self.clock.sleep(wait)


def _disable_aiohttp_retry(session: aiohttp.ClientSession) -> None:
    """Stop aiohttp from silently resending a request once after a dropped connection.

    aiohttp resends GET, HEAD, OPTIONS, PUT, DELETE and TRACE once, immediately, when the
    connection drops (RFC 9112 §9.3.1 permits it). It decides by method alone, so it would also
    resend a PUT the caller declared non-idempotent, and it retries outside our budget, metrics
    and backoff. The switch is the private ``_retry_connection`` (aiohttp 3.10+, listed in
    ``ClientSession.ATTRS``); the dropped-connection tests fail if aiohttp stops honouring it.
    """
    if "_retry_connection" in getattr(aiohttp.ClientSession, "ATTRS", ()):
        session._retry_connection = False


def _error_kind(status: int) -> type[HttpError]:
    if status == 429:
        return RateLimited
    if status >= 500:
        return HttpServerError
    if status >= 400:
        return HttpClientError
    return HttpError
