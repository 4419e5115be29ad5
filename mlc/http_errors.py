"""Errors of :mod:`mlc.http`: each names the connection and the call, never a secret.

::

    MlcError
     └── HttpError                  a call failed; .connection .method .path .route .status
          ├── HttpClientError       4xx: the request is wrong; retrying will not help
          │    ├── AuthenticationFailed   401 after one refresh (or without an authenticator)
          │    └── RateLimited            429 and the retry budget ran out
          ├── HttpServerError       5xx on an idempotent call, after retries
          ├── ConnectionFailed      no usable response (refused, dropped, timed out, TLS)
          ├── OutcomeUnknown        a non-idempotent call may have been applied: look first
          └── InvalidResponse       the response body is not what the call expected

Messages look like ``anaplan.fpa: POST /2/0/models/M1/imports/I1/tasks → 503 Service
Unavailable: <body excerpt>``: the path without its query string, a body excerpt of at most
:data:`EXCERPT_LIMIT` characters, both passed through :func:`mlc.logs.redact` and with the values
of the request's credential headers masked even if nobody registered them as secrets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mlc.errors import MlcError
from mlc.logs import MASK, redact

EXCERPT_LIMIT = 500

#: Header names whose values are credentials (compared lower-case).
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "cookie",
        "set-cookie",
        "x-auth-token",
        "password",
        "x-password",
    }
)


def sensitive_values(headers: Mapping[str, str]) -> list[str]:
    """The credential values in ``headers``, and their parts (``Bearer xyz`` → ``xyz`` too)."""
    values: list[str] = []
    for name, value in headers.items():
        if name.lower() in SENSITIVE_HEADERS and value:
            values.append(value)
            values.extend(part for part in value.split() if len(part) >= 4)
    return values


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with registered secrets and the given credential values masked."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return redact(text)


def excerpt(body: bytes, secrets: Iterable[str] = ()) -> str:
    """A one-line, masked, bounded rendering of a response body."""
    text = " ".join(body[: EXCERPT_LIMIT * 4].decode("utf-8", errors="replace").split())
    text = scrub(text, secrets)
    return text if len(text) <= EXCERPT_LIMIT else text[: EXCERPT_LIMIT - 1] + "…"


class HttpError(MlcError):
    """An HTTP call failed; the message names the connection, the method and the path."""

    def __init__(
        self,
        message: str,
        *,
        connection: str,
        method: str,
        path: str,
        route: str,
        status: int | None = None,
        reason: str = "",
        body_excerpt: str = "",
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.connection = connection
        self.method = method
        self.path = path
        self.route = route
        self.status = status
        self.reason = reason
        self.body_excerpt = body_excerpt
        self.attempts = attempts
        #: Seconds the server asked us to wait (``Retry-After``), when it said.
        self.retry_after = retry_after

    @property
    def call(self) -> str:
        """``connection: METHOD /path`` — what was attempted."""
        return f"{self.connection}: {self.method} {self.path}"


class HttpClientError(HttpError):
    """The server refused the request (4xx)."""


class AuthenticationFailed(HttpClientError):
    """The credentials were rejected, also after one refresh."""


class RateLimited(HttpClientError):
    """429 Too Many Requests, and waiting longer is not allowed by the retry policy."""


class HttpServerError(HttpError):
    """The server failed (5xx), also after the retries the policy allows."""


class ConnectionFailed(HttpError):
    """No usable response: connection refused or lost, a timeout, or a TLS failure."""


class OutcomeUnknown(HttpError):
    """A non-idempotent request may have reached the server, and its result is unknown.

    Raised instead of retrying when the connection dropped after the request was sent, the call
    timed out, or the server answered 5xx. The caller must look (read the Anaplan task list, query
    Epicor for the posting key) before sending it again.
    """


class InvalidResponse(HttpError):
    """The response arrived but its body cannot be used (e.g. not JSON)."""
