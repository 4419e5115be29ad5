"""One Epicor connection's requests: URLs, headers, and Epicor's errors as exceptions.

Statuses the HTTP layer must not retry (4xx but 401 and 429) are handed back here and become
:mod:`mlc.epicor.errors` exceptions built from Epicor's error body, naming the call (and, for a
refused list call, its query options). 401 goes through the authenticator's refresh hook first,
unless the credential cannot be refreshed (Basic): then the 401 comes back here with its body,
which tells a wrong key from a wrong password. 429 and the 5xx of idempotent calls are retried by
:mod:`mlc.http`; what it gives up on arrives here as its own exceptions and is translated.
Non-idempotent calls raise :class:`mlc.http.OutcomeUnknown` unchanged: the caller must look
before sending again.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from mlc.epicor.auth import StaticCredentialRejected
from mlc.epicor.errors import EpicorAuthError, EpicorProtocolError, error_from_response
from mlc.epicor.query import ODataQuery, path_segment
from mlc.http import (
    AuthenticationFailed,
    Authenticator,
    HttpConnection,
    HttpResponse,
    HttpServerError,
)

ODATA_ROOT = "api/v2/odata"
DEFAULT_PAGE_SIZE = 100
_MAX_QUERY_NOTE = 400
#: Request bodies: decimals as JSON numbers (Epicor's decimal columns), never as strings.
_JSON = msgspec.json.Encoder(decimal_format="number")

#: Statuses handed back by the HTTP layer as they are: 2xx, and the 4xx that no retry or
#: token refresh can fix. 401 (refresh hook) and 429 (backoff) stay with the HTTP layer, except
#: that a 401 to a credential that cannot be refreshed (Basic) comes back too, with its body.
_PASS_THROUGH = frozenset(range(200, 300)) | frozenset(
    status for status in range(400, 500) if status not in (401, 429)
)
_PASS_THROUGH_STATIC = _PASS_THROUGH | {401}
_STATIC_NOTE = (
    "not retried: a static credential does not change; check the user, password and API key"
)


@dataclass(frozen=True)
class EpicorSettings:
    """What the client needs to know about one connection besides its HTTP session."""

    #: Connection name, ``epicor.main``: named in every message.
    connection: str
    #: Company id, part of every v2 path.
    company: str
    #: Rows per page; must not exceed the server's cap (100 unless the administrator raised it).
    page_size: int = DEFAULT_PAGE_SIZE
    #: Plant for the ``CallSettings`` header; the user's default plant when ``None``.
    plant: str | None = None

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError(f"{self.connection}: page_size must be at least 1")


class EpicorTransport:
    """Sends requests below ``{base_url}/api/v2/odata/{company}/`` and checks the answers."""

    def __init__(self, http: HttpConnection, auth: Authenticator, settings: EpicorSettings) -> None:
        self._http = http
        self._auth = auth
        static = not getattr(auth, "refreshable", True)
        self._expected = _PASS_THROUGH_STATIC if static else _PASS_THROUGH
        self.settings = settings
        self._headers = {"Accept": "application/json"}
        if settings.plant:
            call_settings = msgspec.json.encode(
                {"Company": settings.company, "Plant": settings.plant}
            )
            self._headers["CallSettings"] = call_settings.decode()
        #: The company's OData root, relative to the base URL.
        self.root = f"{ODATA_ROOT}/{path_segment(settings.company)}"
        #: The same as a route template for metrics (no company value in labels).
        self.route_root = f"/{ODATA_ROOT}/{{company}}"

    @property
    def connection(self) -> str:
        return self.settings.connection

    def call_name(self, method: str, path: str) -> str:
        """``epicor.main: GET /ERP11/api/v2/odata/EPIC06/…`` (no query string)."""
        return f"{self.connection}: {method} {self._http.url_for(path).path}"

    def protocol_error(
        self, response: HttpResponse, method: str, path: str, what: str
    ) -> EpicorProtocolError:
        call = self.call_name(method, path)
        return EpicorProtocolError(f"{call} → {response.status}: {what}", call=call)

    async def send(
        self,
        method: str,
        path: str,
        route: str,
        *,
        query: ODataQuery | None = None,
        json: object = None,
        idempotent: bool | None = None,
    ) -> HttpResponse:
        call = self.call_name(method, path)
        encoded = query.encode() if query is not None else ""
        target = f"{path}?{encoded}" if encoded else path
        headers = self._headers
        body: bytes | None = None
        if json is not None:
            body = _JSON.encode(json)
            headers = {**headers, "Content-Type": "application/json"}
        try:
            response = await self._http.request(
                method,
                target,
                route=route,
                headers=headers,
                data=body,
                idempotent=idempotent,
                expected=self._expected,
                auth=self._auth,
            )
        except StaticCredentialRejected as exc:
            raise EpicorAuthError(f"{call} → {exc}", call=call, status=401) from None
        except AuthenticationFailed as exc:
            raise error_from_response(
                call,
                exc.status or 401,
                exc.reason,
                exc.body_excerpt.encode(),
                kind=EpicorAuthError,
                note="rejected again after a token refresh: check the credentials and API key",
            ) from None
        except HttpServerError as exc:
            raise error_from_response(
                call,
                exc.status or 500,
                exc.reason,
                exc.body_excerpt.encode(),
                note=f"after {exc.attempts} attempts",
            ) from None
        if 200 <= response.status < 300:
            return response
        note = _STATIC_NOTE if response.status == 401 else _query_note(query)
        raise error_from_response(call, response.status, response.reason, response.body, note=note)


def _query_note(query: ODataQuery | None) -> str:
    if query is None:
        return ""
    text = " ".join(f"{name}={value}" for name, value in query.pairs() if name != "$select")
    if len(text) > _MAX_QUERY_NOTE:
        text = text[:_MAX_QUERY_NOTE] + "…"
    return text
