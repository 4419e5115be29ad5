"""OAuth 2.0 for Anaplan: the device authorization grant, and refresh with rotating tokens.

Endpoints on the regional OAuth host (reference §1 "OAuth 2.0"; RFC 8628 for the device grant):

* ``POST /oauth/device/code {client_id, scope?}`` → ``device_code``, ``user_code``,
  ``verification_uri``, ``expires_in``, ``interval``;
* ``POST /oauth/token {grant_type: urn:ietf:params:oauth:grant-type:device_code, device_code,
  client_id}``, polled no faster than ``interval``: ``authorization_pending`` means ask again,
  ``slow_down`` means ask again 5 seconds less often (RFC 8628 §3.5) — and so does any 429, such
  as the tenant's rate limit —, anything else ends the flow;
* ``POST /oauth/token {grant_type: refresh_token, client_id, refresh_token, client_secret?}`` →
  ``access_token`` (``Bearer``, ``expires_in`` 2100 s) and, on a *rotating* client, a new
  ``refresh_token``; the old one is then invalid.

Rotation makes the refresh token a piece of state that must survive a crash: if the process died
after Anaplan rotated the token but before it was stored, the stored one would be dead and a
person would have to authorize the device again. So the new refresh token is handed to
``persist_refresh_token`` (the vault writes it, encrypted) *before* the access token is returned,
and if persisting fails the access token is not used at all.

The refresh call is not retried after a lost response (it is not idempotent: the server may have
rotated the token already). Anaplan has no documented OAuth revocation endpoint, and
``/token/logout`` refuses Bearer tokens (community spec), so :meth:`revoke` does nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mlc.anaplan.errors import AnaplanAuthError, auth_error
from mlc.anaplan.models import DeviceCode, OAuthError, OAuthTokenResponse
from mlc.errors import MlcError
from mlc.http import HttpConnection, HttpResponse
from mlc.logs import redact, register_secret
from mlc.messages import Token
from mlc.runtime.clock import Clock

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

#: RFC 8628 §3.5: on ``slow_down`` the interval grows by 5 seconds for all later requests.
SLOW_DOWN_STEP = 5.0

#: Statuses the OAuth server explains in an RFC 6749 error body (Anaplan's Auth0-style server
#: answers ``authorization_pending`` with 403 and ``slow_down`` with 429).
_OAUTH_ANSWERS = frozenset({200, 400, 401, 403, 429})

PersistRefreshToken = Callable[[str], Awaitable[None]]
ShowDeviceCode = Callable[[DeviceCode], Awaitable[None]]


class OAuthTokenSource:
    """Bearer tokens from a refresh token, or from a device authorization when there is none.

    :param refresh_token: the stored refresh token (from the vault), or ``None`` before the
        device was ever authorized.
    :param persist_refresh_token: stores a new refresh token durably; awaited before the access
        token that came with it is used.
    :param show_device_code: tells a person which code to enter where; without it (the service)
        the source never starts a device flow and fails with instructions instead.
    """

    def __init__(
        self,
        connection: str,
        http: HttpConnection,
        oauth_url: str,
        client_id: str,
        clock: Clock,
        *,
        refresh_token: str | None,
        persist_refresh_token: PersistRefreshToken,
        client_secret: str | None = None,
        scope: str | None = None,
        show_device_code: ShowDeviceCode | None = None,
    ) -> None:
        self._connection = connection
        self._http = http
        self._oauth_url = oauth_url.rstrip("/")
        self._client_id = client_id
        self._clock = clock
        self._refresh_token = refresh_token
        self._persist = persist_refresh_token
        self._client_secret = client_secret
        self._scope = scope
        self._show_device_code = show_device_code
        for secret in (refresh_token, client_secret):
            if secret:
                register_secret(secret)

    @property
    def connection(self) -> str:
        return self._connection

    async def acquire(self) -> Token:
        if self._refresh_token is not None:
            return await self._refresh_grant()
        if self._show_device_code is None:
            raise AnaplanAuthError(
                f"{self._connection}: no OAuth refresh token; authorize this device first "
                f"(mlc creds) so that one is stored"
            )
        return await self.authorize_device()

    async def refresh(self, token: Token) -> Token:
        return await self.acquire()

    async def revoke(self, token: Token) -> None:
        """Nothing to call: see the module docs."""

    async def authorize_device(self) -> Token:
        """Run the device grant: show the code, poll until the person approved or refused."""
        if self._show_device_code is None:
            raise AnaplanAuthError(f"{self._connection}: nobody to show the device code to")
        body: dict[str, Any] = {"client_id": self._client_id}
        if self._scope:
            body["scope"] = self._scope
        call = "POST /oauth/device/code"
        response = await self._post("/oauth/device/code", body, idempotent=True)
        if response.status != 200:
            raise self._refused(call, response)
        code = response.json(DeviceCode)
        register_secret(code.device_code)
        await self._show_device_code(code)
        return await self._poll_device(code)

    async def _poll_device(self, code: DeviceCode) -> Token:
        call = "POST /oauth/token"
        interval = max(1.0, code.interval)
        deadline = self._clock.time() + code.expires_in
        body = {
            "grant_type": DEVICE_GRANT,
            "device_code": code.device_code,
            "client_id": self._client_id,
        }
        while True:
            await self._clock.sleep(interval)
            if self._clock.time() >= deadline:
                raise AnaplanAuthError(
                    f"{self._connection}: the device code expired before it was approved",
                    call=call,
                )
            response = await self._post("/oauth/token", body, idempotent=True)
            if response.status == 200:
                return await self._accept(response)
            error = self._oauth_error(response)
            if error == "authorization_pending":
                continue
            if error == "slow_down" or response.status == 429:
                interval += SLOW_DOWN_STEP
                continue
            raise self._refused(call, response)

    async def _refresh_grant(self) -> Token:
        assert self._refresh_token is not None
        call = "POST /oauth/token"
        body = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "refresh_token": self._refresh_token,
        }
        if self._client_secret:
            body["client_secret"] = self._client_secret
        response = await self._post("/oauth/token", body, idempotent=False)
        if response.status != 200:
            error = self._refused(call, response)
            if error.code == "invalid_grant":
                raise AnaplanAuthError(
                    f"{error} — the stored refresh token is no longer valid; authorize this "
                    "device again (mlc creds)",
                    call=call,
                    status=error.status,
                    code=error.code,
                )
            raise error
        return await self._accept(response)

    async def _accept(self, response: HttpResponse) -> Token:
        granted = response.json(OAuthTokenResponse)
        register_secret(granted.access_token)
        rotated = granted.refresh_token
        if rotated and rotated != self._refresh_token:
            register_secret(rotated)
            self._refresh_token = rotated
            try:
                await self._persist(rotated)
            except Exception as error:
                raise AnaplanAuthError(
                    f"{self._connection}: could not store the new OAuth refresh token, so its "
                    f"access token is not used: {redact(str(error))}"
                ) from error
        elif rotated is None and self._refresh_token is None:
            raise AnaplanAuthError(
                f"{self._connection}: the OAuth server granted no refresh token "
                "(is the offline_access scope allowed for this client?)"
            )
        return Token(
            scheme="Bearer",
            value=granted.access_token,
            expires_at=self._clock.time() + granted.expires_in,
        )

    async def _post(self, path: str, body: dict[str, Any], *, idempotent: bool) -> HttpResponse:
        return await self._http.request(
            "POST",
            f"{self._oauth_url}{path}",
            route=path,
            json=body,
            idempotent=idempotent,
            expected=_OAUTH_ANSWERS,
        )

    @staticmethod
    def _oauth_error(response: HttpResponse) -> str:
        try:
            return str(response.json(OAuthError).error)
        except MlcError:
            return ""

    def _refused(self, call: str, response: HttpResponse) -> AnaplanAuthError:
        return auth_error(self._connection, call, response.status, response.reason, response.body)
