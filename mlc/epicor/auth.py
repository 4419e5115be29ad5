"""Signing Epicor requests: the API key on every call, plus Basic or a bearer token.

Modes [reference/epicor.md §2]:

``basic``
    ``Authorization: Basic base64(user:password)`` and ``x-api-key`` on every call (REST v2's
    default; native Epicor users only).
``token``
    ``POST {base_url}/TokenResource.svc/`` with ``username``/``password`` headers (and the API
    key) → ``{"AccessToken", "ExpiresIn", "TokenType"}``; then ``Authorization: Bearer``. There is
    no refresh token: refreshing is acquiring again. ``ExpiresIn`` defaults to 1200 s when absent,
    as kinetic-devops assumes (the documented default lifetime is disputed: 1 h or 8 h).
``idp``
    OAuth2 client credentials at the Epicor IdP: ``POST {idp_url}/connect/token`` with a
    form-encoded ``grant_type=client_credentials&client_id&client_secret&scope=epicor_erp`` →
    ``access_token``/``expires_in`` (default 3600 s) → ``Authorization: Bearer``.

The bearer modes are :class:`mlc.messages.TokenSource` implementations: the connection's
TokenKeeper owns the token and refreshes it before its hour runs out, and the keeper's
authenticator (``actors.token_keeper.KeeperAuthenticator``) signs requests with it plus
:func:`api_key_headers`. Basic mode needs no keeper: :class:`BasicAuthenticator`.

A rejected *static* credential (Basic) is not tried a second time: repeating a wrong password only
moves the Epicor account towards lockout. Every failure is one :class:`EpicorAuthError` naming the
connection and the HTTP call, never the secret.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TypeVar
from urllib.parse import urlencode

import msgspec

from mlc.epicor.errors import EpicorAuthError, error_from_response
from mlc.http import HttpConnection, HttpError, HttpResponse
from mlc.logs import register_secret
from mlc.messages import Token
from mlc.runtime.clock import Clock

API_KEY_HEADER = "x-api-key"
TOKEN_SERVICE_PATH = "TokenResource.svc/"
TOKEN_SERVICE_ROUTE = "/TokenResource.svc/"
TOKEN_SERVICE_DEFAULT_LIFETIME = 1200.0
IDP_TOKEN_ROUTE = "/connect/token"
IDP_DEFAULT_LIFETIME = 3600.0
IDP_SCOPE = "epicor_erp"

B = TypeVar("B", bound=msgspec.Struct)


def api_key_headers(api_key: str) -> dict[str, str]:
    """The header every Epicor v2 call carries; with a bearer mode, pass it as the TokenKeeper
    authenticator's static headers (``KeeperAuthenticator(keeper, api_key_headers(key))``)."""
    register_secret(api_key)
    return {API_KEY_HEADER: api_key}


class StaticCredentialRejected(EpicorAuthError):
    """Epicor answered 401 to Basic credentials; raised instead of a second attempt."""


class BasicAuthenticator:
    """:class:`mlc.http.Authenticator` for ``auth = "basic"``: Basic header plus the API key.

    ``refreshable`` is false: the client then takes a 401 back from the HTTP layer with its body
    (which says whether the key or the password was wrong) instead of asking for a refresh.
    """

    refreshable = False

    def __init__(self, connection: str, user: str, password: str, api_key: str) -> None:
        register_secret(password)
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        register_secret(encoded)
        self.connection = connection
        self._headers = {**api_key_headers(api_key), "Authorization": f"Basic {encoded}"}

    async def headers(self) -> Mapping[str, str]:
        return self._headers

    async def on_rejected(self, sent_headers: Mapping[str, str]) -> None:
        raise StaticCredentialRejected(
            "401 Unauthorized: Epicor rejected the user/password or the API key; not retried, "
            "to avoid locking the account"
        )

    def __repr__(self) -> str:
        return f"BasicAuthenticator({self.connection!r}, ***)"


class _TokenServiceBody(msgspec.Struct):
    AccessToken: str
    ExpiresIn: float | None = None
    TokenType: str | None = None


class _OAuthBody(msgspec.Struct):
    access_token: str
    expires_in: float | None = None
    token_type: str | None = None


_TOKEN_SERVICE_DECODER = msgspec.json.Decoder(_TokenServiceBody)
_OAUTH_DECODER = msgspec.json.Decoder(_OAuthBody)


class TokenServiceSource:
    """Bearer tokens from Epicor's ``TokenResource.svc`` (``auth = "token"``)."""

    def __init__(
        self,
        http: HttpConnection,
        connection: str,
        *,
        user: str,
        password: str,
        api_key: str,
        clock: Clock,
    ) -> None:
        register_secret(password)
        register_secret(api_key)
        self._http = http
        self._connection = connection
        self._user = user
        self._password = password
        self._api_key = api_key
        self._clock = clock

    @property
    def connection(self) -> str:
        return self._connection

    async def acquire(self) -> Token:
        call = f"{self._connection}: POST {TOKEN_SERVICE_ROUTE}"
        headers = {
            "username": self._user,
            "password": self._password,
            API_KEY_HEADER: self._api_key,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        response = await _token_call(
            self._http, call, TOKEN_SERVICE_PATH, TOKEN_SERVICE_ROUTE, headers, b""
        )
        body = _decode(response, _TOKEN_SERVICE_DECODER, call)
        return _token(
            body.AccessToken, body.ExpiresIn, TOKEN_SERVICE_DEFAULT_LIFETIME, self._clock, call
        )

    async def refresh(self, token: Token) -> Token:
        """No refresh token exists for TokenResource.svc: a new token is acquired."""
        return await self.acquire()

    async def revoke(self, token: Token) -> None:
        """Stateless bearer tokens have no logout; they expire."""


class IdpClientCredentialsSource:
    """Bearer tokens from the Epicor IdP by OAuth2 client credentials (``auth = "idp"``)."""

    def __init__(
        self,
        http: HttpConnection,
        connection: str,
        *,
        idp_url: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        scope: str = IDP_SCOPE,
    ) -> None:
        register_secret(client_secret)
        self._http = http
        self._connection = connection
        self._token_url = idp_url.rstrip("/") + IDP_TOKEN_ROUTE
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        }
        self._clock = clock

    @property
    def connection(self) -> str:
        return self._connection

    async def acquire(self) -> Token:
        call = f"{self._connection}: POST {IDP_TOKEN_ROUTE}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        form = urlencode(self._form).encode("ascii")
        response = await _token_call(
            self._http, call, self._token_url, IDP_TOKEN_ROUTE, headers, form
        )
        body = _decode(response, _OAUTH_DECODER, call)
        return _token(body.access_token, body.expires_in, IDP_DEFAULT_LIFETIME, self._clock, call)

    async def refresh(self, token: Token) -> Token:
        """Client credentials carry no refresh token: a new token is acquired."""
        return await self.acquire()

    async def revoke(self, token: Token) -> None:
        """A client-credentials token is not a session; nothing to end."""


async def _token_call(
    http: HttpConnection,
    call: str,
    path_or_url: str,
    route: str,
    headers: Mapping[str, str],
    data: bytes,
) -> HttpResponse:
    """POST to a token endpoint; any refusal becomes one :class:`EpicorAuthError`.

    Token requests are safe to repeat (a second token is harmless), so the HTTP layer retries
    transport failures and 5xx; a 4xx is final: a wrong secret does not improve with time.
    """
    try:
        response = await http.request(
            "POST",
            path_or_url,
            route=route,
            headers=headers,
            data=data,
            idempotent=True,
            expected=range(200, 500),
        )
    except HttpError as exc:
        raise EpicorAuthError(
            f"cannot obtain an Epicor token: {exc}", call=call, status=exc.status or 0
        ) from None
    if response.status >= 300:
        raise error_from_response(
            call,
            response.status,
            response.reason,
            response.body,
            kind=EpicorAuthError,
            note="no token: check the credentials and the API key",
        )
    return response


def _decode(response: HttpResponse, decoder: msgspec.json.Decoder[B], call: str) -> B:
    try:
        return decoder.decode(response.body)
    except msgspec.DecodeError as exc:
        raise EpicorAuthError(
            f"{call} → {response.status}: the token response is not the expected JSON ({exc})",
            call=call,
            status=response.status,
        ) from None


def _token(value: str, expires_in: float | None, default: float, clock: Clock, call: str) -> Token:
    if not value:
        raise EpicorAuthError(f"{call}: the token response holds an empty token", call=call)
    register_secret(value)
    lifetime = expires_in if expires_in is not None and expires_in > 0 else default
    return Token(scheme="Bearer", value=value, expires_at=clock.time() + lifetime)
