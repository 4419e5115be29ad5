"""The OAuth 2.0 service: device authorization grant and refresh tokens (reference/anaplan.md §1).

Endpoints (community OAuth spec, live-tested): ``POST /oauth/device/code`` ``{client_id, scope?}``
→ ``{device_code, user_code, verification_uri, verification_uri_complete, expires_in, interval}``;
``POST /oauth/token`` with ``grant_type`` ``urn:ietf:params:oauth:grant-type:device_code`` or
``refresh_token`` → ``{access_token, id_token, refresh_token, scope, expires_in, token_type:
"Bearer"}``; ``profile`` is silently dropped from the granted scope; no ``anaplan_token`` field.

Decisions where the sources are silent:

* Bodies: JSON (community scripts, Postman) and ``application/x-www-form-urlencoded``
  (anaplan-sdk via oauthlib, used against production) are both accepted.
* Error statuses follow the Auth0-style server Anaplan's ``verification_uri`` (``…/activate``) and
  ``error_uri`` point to: ``authorization_pending``, ``expired_token``, ``access_denied`` and
  ``invalid_grant`` answer **403**, ``slow_down`` **429** (polling faster than ``interval`` seconds
  of sandbox time), malformed requests **400** ``invalid_request``, an unknown client **401**
  ``access_denied``, a grant the client does not have (``client_credentials``: Anaplan only offers
  authorization-code and device clients, help 0984a799) **403** ``unauthorized_client``.
* Scope defaults to ``openid email offline_access`` when omitted; a ``refresh_token`` is issued only
  when ``offline_access`` is granted.
* Rotation is per client (help/community 156942): a rotating client gets a new refresh token on
  every use and the old one is rejected (``invalid_grant``); reusing a rotated token also revokes
  the newer tokens of the same family (reuse detection — stricter than anything documented, so a
  client that keeps a stale token notices). Rotating refresh tokens expire after
  ``refresh_lifetime_seconds`` (default 43,000 s); non-rotating ones never expire.
* The device flow is approved in the sandbox by a user entering the code and their password on
  ``verification_uri`` (``GET``/``POST /activate``), or by the control route
  ``POST /_sandbox/anaplan/oauth/approve``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from mlc.sandbox.anaplan import ids
from mlc.sandbox.anaplan.auth import TokenStore, User

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_SCOPE = "openid email offline_access"
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


class OAuthError(Exception):
    def __init__(self, http_status: int, error: str, description: str) -> None:
        self.http_status = http_status
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}")

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    name: str
    grants: frozenset[str]
    rotate: bool
    refresh_lifetime_seconds: float | None


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    client: OAuthClient
    scope: str
    expires_at: float
    interval: int
    last_poll: float | None = None
    user: User | None = None
    denied: bool = False
    used: bool = False


@dataclass
class RefreshToken:
    value: str
    client: OAuthClient
    user: User
    scope: str
    family: str
    expires_at: float | None
    used: bool = False
    revoked: bool = False


@dataclass
class OAuthServer:
    clients: dict[str, OAuthClient]
    tokens: TokenStore
    device_lifetime_seconds: float = 900.0
    interval_seconds: int = 5
    device_codes: dict[str, DeviceCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def _client(self, params: dict[str, Any]) -> OAuthClient:
        client_id = params.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise OAuthError(400, "invalid_request", "Missing required parameter: client_id")
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError(401, "access_denied", "Unauthorized")
        return client

    def start_device(
        self, params: dict[str, Any], now: float, verification_uri: str
    ) -> dict[str, Any]:
        client = self._client(params)
        if DEVICE_GRANT not in client.grants:
            raise OAuthError(
                403, "unauthorized_client", "Grant type 'device_code' not allowed for the client."
            )
        scope = _granted_scope(params.get("scope"))
        user_code = "-".join(
            "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(4)) for _ in range(2)
        )
        device = DeviceCode(
            device_code=ids.opaque_token(24),
            user_code=user_code,
            client=client,
            scope=scope,
            expires_at=now + self.device_lifetime_seconds,
            interval=self.interval_seconds,
        )
        self.device_codes[device.device_code] = device
        return {
            "device_code": device.device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={user_code}",
            "expires_in": int(self.device_lifetime_seconds),
            "interval": self.interval_seconds,
        }

    def find_user_code(self, user_code: str, now: float) -> DeviceCode | None:
        wanted = user_code.strip().upper()
        for device in self.device_codes.values():
            if device.user_code == wanted and not device.used and now < device.expires_at:
                return device
        return None

    def approve(self, user_code: str, user: User, now: float, allow: bool = True) -> bool:
        device = self.find_user_code(user_code, now)
        if device is None:
            return False
        if allow:
            device.user = user
        else:
            device.denied = True
        return True

    def token(self, params: dict[str, Any], now: float) -> dict[str, Any]:
        grant = params.get("grant_type")
        if not isinstance(grant, str) or not grant:
            raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
        client = self._client(params)
        if grant not in client.grants:
            raise OAuthError(
                403, "unauthorized_client", f"Grant type '{grant}' not allowed for the client."
            )
        if grant == DEVICE_GRANT:
            return self._device_token(client, params, now)
        return self._refresh(client, params, now)

    def _device_token(
        self, client: OAuthClient, params: dict[str, Any], now: float
    ) -> dict[str, Any]:
        code = params.get("device_code")
        if not isinstance(code, str) or not code:
            raise OAuthError(400, "invalid_request", "Missing required parameter: device_code")
        device = self.device_codes.get(code)
        if device is None or device.client is not client or device.used:
            raise OAuthError(403, "invalid_grant", "Invalid or expired device code.")
        if now >= device.expires_at:
            raise OAuthError(403, "expired_token", "The device code has expired.")
        last, device.last_poll = device.last_poll, now
        if last is not None and now - last < device.interval:
            raise OAuthError(
                429, "slow_down", "You are polling faster than the specified interval."
            )
        if device.denied:
            device.used = True
            raise OAuthError(403, "access_denied", "The user denied the authorization request.")
        if device.user is None:
            raise OAuthError(403, "authorization_pending", "User has yet to authorize device code.")
        device.used = True
        return self._grant(client, device.user, device.scope, now, ids.lower_hex32())

    def _refresh(self, client: OAuthClient, params: dict[str, Any], now: float) -> dict[str, Any]:
        value = params.get("refresh_token")
        if not isinstance(value, str) or not value:
            raise OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
        stored = self.refresh_tokens.get(value)
        invalid = OAuthError(403, "invalid_grant", "Unknown or invalid refresh token.")
        if stored is None or stored.client is not client or stored.revoked:
            raise invalid
        if stored.used:
            for other in self.refresh_tokens.values():
                if other.family == stored.family:
                    other.revoked = True
            raise invalid
        if stored.expires_at is not None and now >= stored.expires_at:
            raise invalid
        if client.rotate:
            stored.used = True
        return self._grant(client, stored.user, stored.scope, now, stored.family, reuse=stored)

    def _grant(
        self,
        client: OAuthClient,
        user: User,
        scope: str,
        now: float,
        family: str,
        reuse: RefreshToken | None = None,
    ) -> dict[str, Any]:
        access = self.tokens.issue(user, now, kind="oauth")
        body: dict[str, Any] = {
            "access_token": access.value,
            "id_token": self._id_token(client, user, now),
            "scope": scope,
            "expires_in": int(self.tokens.lifetime),
            "token_type": "Bearer",
        }
        if "offline_access" in scope.split():
            if reuse is not None and not client.rotate:
                body["refresh_token"] = reuse.value
            else:
                lifetime = client.refresh_lifetime_seconds if client.rotate else None
                refresh = RefreshToken(
                    value=ids.opaque_token(33),
                    client=client,
                    user=user,
                    scope=scope,
                    family=family,
                    expires_at=None if lifetime is None else now + lifetime,
                )
                self.refresh_tokens[refresh.value] = refresh
                body["refresh_token"] = refresh.value
        return body

    def _id_token(self, client: OAuthClient, user: User, now: float) -> str:
        def part(data: dict[str, Any]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        header = part({"alg": "HS256", "typ": "JWT"})
        payload = part(
            {
                "sub": user.guid,
                "email": user.email,
                "aud": client.client_id,
                "iat": int(now),
                "exp": int(now + self.tokens.lifetime),
            }
        )
        signed = hmac.new(self.signing_key, f"{header}.{payload}".encode(), hashlib.sha256)
        signature = base64.urlsafe_b64encode(signed.digest()).rstrip(b"=").decode()
        return f"{header}.{payload}.{signature}"


def _granted_scope(requested: object) -> str:
    if not isinstance(requested, str) or not requested.strip():
        return DEFAULT_SCOPE
    return " ".join(s for s in requested.split() if s != "profile")
