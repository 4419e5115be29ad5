"""Token sources for Anaplan's Authentication API: basic and CA-certificate logins.

Both implement :class:`mlc.messages.TokenSource` (OAuth is in :mod:`mlc.anaplan.oauth`):

* ``acquire``: ``POST {auth_url}/token/authenticate`` → **201** (the docs say 200; both are
  accepted) with ``tokenInfo.tokenValue`` and ``tokenInfo.expiresAt`` in epoch **milliseconds**
  (reference §1). Tokens live 35 minutes; Anaplan advises one token per session, not one per call.
* ``refresh``: ``POST /token/refresh`` with ``AnaplanAuthToken {token}`` → 200; the token value
  stays the same and its expiry moves (live observation, community spec). A token that is no
  longer valid answers 401: the source logs in again instead.
* ``revoke``: ``POST /token/logout`` → 204; a token that is already invalid (401) counts as done.

A refused login is one :class:`~mlc.anaplan.errors.AnaplanAuthError` naming the connection and the
call with Anaplan's status code, e.g. ``anaplan.fpa: POST /token/authenticate → 401
FAILURE_BAD_CREDENTIAL (…)``; the password never appears (it is not in the request line, and the
HTTP layer masks the ``Authorization`` header's value in every message).
"""

from __future__ import annotations

import base64

import msgspec

from mlc.anaplan.certificate import CertificateSigner
from mlc.anaplan.errors import AnaplanAuthError, auth_error
from mlc.anaplan.models import AuthResponse
from mlc.http import Body, HttpConnection, HttpResponse
from mlc.logs import register_secret
from mlc.messages import Token
from mlc.runtime.clock import Clock

SCHEME = "AnaplanAuthToken"

#: Answers read rather than raised by the HTTP layer: the auth API explains them in its body.
_AUTH_ANSWERS = frozenset({200, 201, 204, 400, 401, 403})


def _token_from(connection: str, response: HttpResponse, call: str) -> Token:
    info = response.json(AuthResponse).tokenInfo
    if info is None or not info.tokenValue:
        raise AnaplanAuthError(
            f"{connection}: {call} → {response.status} without tokenInfo", call=call
        )
    register_secret(info.tokenValue)
    return Token(scheme=SCHEME, value=info.tokenValue, expires_at=info.expiresAt / 1000.0)


class _SessionTokenSource:
    """What basic and certificate logins share: the token endpoints after the login itself."""

    def __init__(self, connection: str, http: HttpConnection, auth_url: str, clock: Clock) -> None:
        self._connection = connection
        self._http = http
        self._auth_url = auth_url.rstrip("/")
        self._clock = clock

    @property
    def connection(self) -> str:
        return self._connection

    def _login_request(self) -> tuple[dict[str, str], Body | None]:
        """Headers and body of ``/token/authenticate``."""
        raise NotImplementedError

    async def _post(
        self, path: str, headers: dict[str, str], body: Body | None = None
    ) -> HttpResponse:
        # Idempotent enough to retry after a lost response: a second login only leaves an
        # unused session behind, which expires on its own.
        return await self._http.request(
            "POST",
            f"{self._auth_url}{path}",
            route=path,
            headers=headers,
            data=body,
            idempotent=True,
            expected=_AUTH_ANSWERS,
        )

    def _refused(self, call: str, response: HttpResponse) -> AnaplanAuthError:
        return auth_error(self._connection, call, response.status, response.reason, response.body)

    async def acquire(self) -> Token:
        call = "POST /token/authenticate"
        headers, body = self._login_request()
        response = await self._post("/token/authenticate", headers, body)
        if response.status not in (200, 201):
            raise self._refused(call, response)
        return _token_from(self._connection, response, call)

    async def refresh(self, token: Token) -> Token:
        """A token with a later expiry (the same value); a new login if Anaplan refuses."""
        call = "POST /token/refresh"
        response = await self._post("/token/refresh", {"Authorization": token.authorization})
        if response.status == 200 or response.status == 201:
            return _token_from(self._connection, response, call)
        if response.status == 401:
            return await self.acquire()
        raise self._refused(call, response)

    async def revoke(self, token: Token) -> None:
        call = "POST /token/logout"
        response = await self._post("/token/logout", {"Authorization": token.authorization})
        if response.status not in (200, 204, 401):
            raise self._refused(call, response)


class BasicTokenSource(_SessionTokenSource):
    """``Authorization: Basic base64(user:password)``; SSO users must be Anaplan exception users."""

    def __init__(
        self,
        connection: str,
        http: HttpConnection,
        auth_url: str,
        user: str,
        password: str,
        clock: Clock,
    ) -> None:
        super().__init__(connection, http, auth_url, clock)
        register_secret(password)
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        register_secret(credentials)
        self._header = f"Basic {credentials}"

    def _login_request(self) -> tuple[dict[str, str], Body | None]:
        return {"Authorization": self._header}, None


class CertificateTokenSource(_SessionTokenSource):
    """``Authorization: CACertificate …`` and a freshly signed body on every login attempt."""

    def __init__(
        self,
        connection: str,
        http: HttpConnection,
        auth_url: str,
        signer: CertificateSigner,
        clock: Clock,
    ) -> None:
        super().__init__(connection, http, auth_url, clock)
        self._signer = signer

    def _login_request(self) -> tuple[dict[str, str], Body | None]:
        headers = {"Authorization": self._signer.authorization, "Content-Type": "application/json"}
        # A factory, called for every attempt: a retry after a lost connection must carry a
        # payload never sent before, or Anaplan rejects it as a replay.
        return headers, lambda: msgspec.json.encode(self._signer.login_body(self._clock.time()))
