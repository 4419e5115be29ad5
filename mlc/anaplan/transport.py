"""The HTTP side of one Anaplan connection: signed requests, typed answers, Anaplan's errors.

Everything goes through one :class:`mlc.http.HttpConnection`, built with the tenant's shared
limiter (:mod:`mlc.anaplan.limiter`), so the Integration, CloudWorks and authentication calls of
every connection and model of a tenant draw from one request budget — Anaplan counts them per
tenant. Retries, ``Retry-After``, the 401 refresh and ``OutcomeUnknown`` are the HTTP layer's.

A 4xx becomes an Anaplan error family (:mod:`mlc.anaplan.errors`), so callers can tell "not
found" from "model busy"; 401, 429, 5xx and transport failures stay the HTTP layer's errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Container, Mapping
from contextlib import asynccontextmanager
from typing import TypeVar

from mlc.anaplan.errors import AnaplanError, AnaplanProtocolError, error_from_response
from mlc.http import (
    AuthenticationFailed,
    Authenticator,
    Body,
    HttpClientError,
    HttpConnection,
    HttpResponse,
    Params,
    RateLimited,
    StreamingResponse,
)

T = TypeVar("T")


def _anaplan_error(connection: str, error: HttpClientError) -> AnaplanError | None:
    if isinstance(error, AuthenticationFailed | RateLimited) or error.status is None:
        return None
    call = f"{error.method} {error.path}"
    return error_from_response(
        connection, call, error.status, error.reason, error.body_excerpt.encode()
    )


class AnaplanTransport:
    """Requests of one connection, signed by ``auth``, against URLs on any Anaplan host."""

    def __init__(self, connection: str, http: HttpConnection, auth: Authenticator) -> None:
        self.connection = connection
        self.http = http
        self.auth = auth

    async def request(
        self,
        method: str,
        url: str,
        *,
        route: str,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        data: Body | None = None,
        idempotent: bool | None = None,
        expected: Container[int] | None = None,
    ) -> HttpResponse:
        """One call; ``url`` is a path on the API host or an absolute URL (CloudWorks)."""
        try:
            return await self.http.request(
                method,
                url,
                route=route,
                params=params,
                headers=headers,
                json=json,
                data=data,
                idempotent=idempotent,
                expected=expected,
                auth=self.auth,
            )
        except HttpClientError as error:
            converted = _anaplan_error(self.connection, error)
            if converted is None:
                raise
            raise converted from error

    async def get(self, url: str, into: type[T], *, route: str, params: Params | None = None) -> T:
        """``GET url`` decoded into ``into`` (a msgspec Struct)."""
        response = await self.request("GET", url, route=route, params=params)
        decoded: T = response.json(into)
        return decoded

    @asynccontextmanager
    async def stream(
        self, method: str, url: str, *, route: str, params: Params | None = None
    ) -> AsyncIterator[StreamingResponse]:
        """A response whose body is read piece by piece (chunk downloads)."""
        try:
            async with self.http.stream(
                method, url, route=route, params=params, auth=self.auth
            ) as response:
                yield response
        except HttpClientError as error:
            converted = _anaplan_error(self.connection, error)
            if converted is None:
                raise
            raise converted from error

    def protocol_error(self, call: str, detail: str) -> AnaplanProtocolError:
        return AnaplanProtocolError(f"{self.connection}: {call}: {detail}", call=call)
