"""What one HTTP call is, and the responses :class:`mlc.http.HttpConnection` returns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec
from multidict import CIMultiDictProxy
from yarl import URL

from mlc.http_errors import (
    ConnectionFailed,
    HttpError,
    InvalidResponse,
    OutcomeUnknown,
    excerpt,
    scrub,
)
from mlc.http_retry import describe_exception

UNKNOWN_OUTCOME_NOTE = "the request may have been applied; check before sending it again"


@dataclass
class HttpCall:
    """One logical request, and the error messages about it (masked, without query string)."""

    connection: str
    system: str
    method: str
    url: URL
    route: str
    idempotent: bool
    #: Credential header values sent in any attempt so far; masked in every message.
    secrets: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return scrub(self.url.path or "/", self.secrets)

    @property
    def description(self) -> str:
        return f"{self.connection}: {self.method} {self.path}"

    def fields(self, **extra: object) -> dict[str, object]:
        """Structured log fields (never headers, query strings or bodies)."""
        return {
            "connection": self.connection,
            "system": self.system,
            "method": self.method,
            "route": self.route,
            **extra,
        }

    def error(
        self,
        kind: type[HttpError],
        outcome: str,
        *,
        status: int | None = None,
        reason: str = "",
        body: bytes = b"",
        note: str = "",
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> HttpError:
        """``connection: METHOD /path → outcome: body excerpt (note)`` as a ``kind``."""
        body_text = excerpt(body, self.secrets)
        message = f"{self.description} → {scrub(outcome, self.secrets)}"
        if body_text:
            message += f": {body_text}"
        if note:
            message += f" ({note})"
        return kind(
            message,
            connection=self.connection,
            method=self.method,
            path=self.path,
            route=self.route,
            status=status,
            reason=reason,
            body_excerpt=body_text,
            attempts=attempts,
            retry_after=retry_after,
        )

    def status_error(
        self,
        kind: type[HttpError],
        response: aiohttp.ClientResponse,
        body: bytes,
        **details: Any,
    ) -> HttpError:
        reason = response.reason or ""
        outcome = f"{response.status} {reason}".rstrip()
        return self.error(
            kind, outcome, status=response.status, reason=reason, body=body, **details
        )

    def transport_error(self, kind: type[HttpError], detail: str, *, attempts: int) -> HttpError:
        note = UNKNOWN_OUTCOME_NOTE if kind is OutcomeUnknown else ""
        return self.error(kind, f"no response, {detail}", note=note, attempts=attempts)


@dataclass(frozen=True)
class HttpResponse:
    """A response read in full."""

    status: int
    reason: str
    headers: CIMultiDictProxy[str] = field(repr=False)
    body: bytes = field(repr=False)
    _call: HttpCall = field(repr=False, compare=False)

    @property
    def call(self) -> str:
        """``connection: METHOD /path`` (no query string), for messages about this response."""
        return self._call.description

    def text(self, encoding: str = "utf-8") -> str:
        return self.body.decode(encoding, errors="replace")

    def json(self, type: Any = Any) -> Any:
        """The body decoded as JSON (into ``type`` when given, e.g. a msgspec Struct).

        :raises InvalidResponse: naming the call, when the body does not decode.
        """
        try:
            return msgspec.json.decode(self.body, type=type)
        except msgspec.DecodeError as exc:
            raise self._call.error(
                InvalidResponse,
                f"{self.status} {self.reason}".rstrip(),
                status=self.status,
                reason=self.reason,
                body=self.body,
                note=f"not the expected JSON: {exc}",
            ) from None


class StreamingResponse:
    """A response whose body is read chunk by chunk (large downloads)."""

    def __init__(self, response: aiohttp.ClientResponse, call: HttpCall) -> None:
        self._response = response
        self._call = call
        self.status = response.status
        self.reason = response.reason or ""
        self.headers = response.headers

    async def iter_chunks(self, size: int = 1 << 20) -> AsyncIterator[bytes]:
        """The body in chunks of at most ``size`` bytes.

        A failure half-way is not retried here (part of the body was handed out already): it
        raises :class:`ConnectionFailed`, or :class:`OutcomeUnknown` for a non-idempotent call.
        """
        try:
            async for chunk in self._response.content.iter_chunked(size):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = ConnectionFailed if self._call.idempotent else OutcomeUnknown
            detail = f"{describe_exception(exc)} while reading the body"
            raise self._call.transport_error(kind, detail, attempts=1) from None

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_chunks()])

    @property
    def raw(self) -> aiohttp.ClientResponse:
        """The underlying aiohttp response, for what this wrapper does not offer."""
        return self._response
