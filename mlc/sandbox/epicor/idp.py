"""The identity provider host (Epicor IdP, cloud style): ``POST /connect/token``.

Observed in one public client only (reference §2, [IDP]; unverified in Epicor's documents):
``application/x-www-form-urlencoded`` with ``grant_type=client_credentials``, ``client_id``,
``client_secret`` and ``scope=epicor_erp``; ``grant_type=password`` (scope ``openid email
epicor_erp``) also returns a ``refresh_token``, usable with ``grant_type=refresh_token``. The
answer is standard OAuth 2.0 (RFC 6749 §5.1): ``access_token``, ``expires_in``, ``token_type``,
``scope``, with ``Cache-Control: no-store``.

The ``/connect/token`` path is IdentityServer's, and errors follow it: HTTP 400 with
``{"error": "invalid_client" | "invalid_grant" | "unsupported_grant_type" | "invalid_scope" |
"invalid_request"}`` — IdentityServer answers 400 even for a bad client secret. The client may
authenticate with HTTP Basic (RFC 6749 §2.3.1) or in the form. Discovery is at
``/.well-known/openid-configuration``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import unquote

from aiohttp import web

from mlc.sandbox.epicor.auth import TokenError, Tokens, same_user
from mlc.sandbox.epicor.config import EpicorOptions

REFRESH_LIFETIME = 30 * 24 * 3600.0
_PASSWORD_SCOPES = frozenset({"openid", "email", "profile", "offline_access"})


def _error(code: str, description: str | None = None) -> web.Response:
    body = {"error": code}
    if description:
        body["error_description"] = description
    return web.json_response(body, status=400, headers={"Cache-Control": "no-store"})


class IdentityProvider:
    def __init__(self, options: EpicorOptions, tokens: Tokens) -> None:
        self.options = options
        self.tokens = tokens

    def register(self, app: web.Application) -> None:
        app.router.add_post("/connect/token", self.token)
        app.router.add_get("/.well-known/openid-configuration", self.discovery)

    async def discovery(self, request: web.Request) -> web.Response:
        issuer = str(request.url.origin())
        return web.json_response(
            {
                "issuer": issuer,
                "token_endpoint": f"{issuer}/connect/token",
                "grant_types_supported": ["client_credentials", "password", "refresh_token"],
                "scopes_supported": [self.options.scope, *sorted(_PASSWORD_SCOPES)],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    def _client(self, request: web.Request, form: dict[str, str]) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id == self.options.client_id and hmac.compare_digest(
            secret.encode(), self.options.client_secret.encode()
        ):
            return client_id
        return None

    def _granted(self, token: str, lifetime: int, scope: str, refresh: str | None) -> web.Response:
        body: dict[str, object] = {
            "access_token": token,
            "expires_in": lifetime,
            "token_type": "Bearer",
            "scope": scope,
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return _error("invalid_request", "the body must be application/x-www-form-urlencoded")
        form = {key: str(value) for key, value in (await request.post()).items()}
        client_id = self._client(request, form)
        if client_id is None:
            return _error("invalid_client")
        grant = form.get("grant_type", "")
        requested = form.get("scope", "").split()
        if grant == "client_credentials":
            if any(scope != self.options.scope for scope in requested):
                return _error("invalid_scope")
            scope = self.options.scope
            token, lifetime = self.tokens.issue(
                {"client_id": client_id, "sub": client_id, "scope": scope}
            )
            return self._granted(token, lifetime, scope, None)
        if grant == "password":
            allowed = _PASSWORD_SCOPES | {self.options.scope}
            if any(scope not in allowed for scope in requested):
                return _error("invalid_scope")
            if not same_user(form.get("username", ""), self.options) or not hmac.compare_digest(
                form.get("password", "").encode(), self.options.password.encode()
            ):
                return _error("invalid_grant", "invalid_username_or_password")
            return self._user_tokens(client_id, " ".join(requested) or self.options.scope)
        if grant == "refresh_token":
            try:
                claims = self.tokens.verify(form.get("refresh_token", ""))
            except TokenError:
                return _error("invalid_grant")
            if claims.get("token_use") != "refresh" or claims.get("client_id") != client_id:
                return _error("invalid_grant")
            return self._user_tokens(client_id, str(claims.get("scope", self.options.scope)))
        if not grant:
            return _error("invalid_request", "grant_type is missing")
        return _error("unsupported_grant_type")

    def _user_tokens(self, client_id: str, scope: str) -> web.Response:
        claims = {
            "client_id": client_id,
            "sub": self.options.user,
            "username": self.options.user,
            "scope": scope,
        }
        token, lifetime = self.tokens.issue(claims)
        refresh, _ = self.tokens.issue({**claims, "token_use": "refresh"}, REFRESH_LIFETIME)
        return self._granted(token, lifetime, scope, refresh)
