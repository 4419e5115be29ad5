"""The Authentication API host (``auth.anaplan.com``): ``/token/…`` authenticate, refresh,
validate and logout.

Facts (reference/anaplan.md §1): authenticate answers **201** live (docs say 200) with ``meta``,
``status: SUCCESS``, ``statusMessage: "Login successful"`` and ``tokenInfo``; ``expiresAt`` is epoch
milliseconds; refresh keeps ``tokenValue``; logout answers 204; ``Bearer`` is rejected on
validate/refresh (400) and logout (401). ``tokenInfo`` also carries the optional ``refreshToken``
Anaplan announced (help 465aed3f) — it is inert here, and present so clients prove they ignore
unknown fields. Decision: ``/token/refresh`` only refreshes Authentication API tokens; an OAuth
access token there answers 401 (OAuth clients refresh through ``/oauth/token``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from mlc.sandbox.anaplan.auth import Token, bad_credential, bad_header
from mlc.sandbox.anaplan.envelope import json_response
from mlc.sandbox.anaplan.state import Tenant, TenantRef


def _meta(request: web.Request) -> dict[str, str]:
    return {"validationUrl": f"{request.url.origin()}/token/validate"}


def _token_info(token: Token) -> dict[str, Any]:
    return {
        "tokenId": token.token_id,
        "tokenValue": token.value,
        "expiresAt": int(token.expires_at * 1000),
        "refreshTokenId": token.refresh_token_id,
        "refreshToken": token.refresh_token,
    }


def _anaplan_token(request: web.Request, tenant: Tenant, bearer_status: int) -> Token:
    header = request.headers.get("Authorization", "").strip()
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        if bearer_status == 400:
            raise bad_header()
        raise bad_credential("Invalid token.")
    if scheme != "AnaplanAuthToken" or not value:
        if bearer_status == 401:
            raise bad_credential("Invalid token.")
        raise bad_header()
    token = tenant.tokens.lookup(value, tenant.now())
    if token is None:
        raise bad_credential("Token is invalid or has expired.")
    return token


def add_auth_routes(app: web.Application, ref: TenantRef) -> None:
    async def authenticate(request: web.Request) -> web.Response:
        tenant = ref.tenant
        header = request.headers.get("Authorization", "").strip()
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            user = tenant.directory.basic(header)
        elif scheme == "CACertificate" and value.strip():
            raw = await request.read()
            try:
                body: object = json.loads(raw.decode("utf-8")) if raw else None
            except (ValueError, UnicodeDecodeError):
                raise bad_header("Invalid request body.") from None
            user = tenant.directory.certificate(value, body, tenant.now())
        else:
            raise bad_header()
        token = tenant.tokens.issue(user, tenant.now())
        tenant.counters.bump("tokens_issued")
        return json_response(
            {
                "meta": _meta(request),
                "status": "SUCCESS",
                "statusMessage": "Login successful",
                "tokenInfo": _token_info(token),
            },
            201,
        )

    async def refresh(request: web.Request) -> web.Response:
        tenant = ref.tenant
        token = _anaplan_token(request, tenant, bearer_status=400)
        if token.kind != "session":
            raise bad_credential("Token is invalid or has expired.")
        tenant.tokens.refresh(token, tenant.now())
        return json_response(
            {
                "meta": _meta(request),
                "status": "SUCCESS",
                "statusMessage": "Token refreshed",
                "tokenInfo": _token_info(token),
            }
        )

    async def validate(request: web.Request) -> web.Response:
        tenant = ref.tenant
        token = _anaplan_token(request, tenant, bearer_status=400)
        return json_response(
            {
                "meta": _meta(request),
                "status": "SUCCESS",
                "statusMessage": "Token validated",
                "tokenInfo": {"expiresAt": int(token.expires_at * 1000), "tokenId": token.token_id},
                "userInfo": {
                    "userGuid": token.user.guid,
                    "userId": token.user.email,
                    "customerGuid": tenant.customer_guid,
                },
            }
        )

    async def logout(request: web.Request) -> web.Response:
        tenant = ref.tenant
        token = _anaplan_token(request, tenant, bearer_status=401)
        tenant.tokens.revoke(token)
        return web.Response(status=204)

    app.router.add_post("/token/authenticate", authenticate)
    app.router.add_post("/token/refresh", refresh)
    app.router.add_get("/token/validate", validate)
    app.router.add_post("/token/logout", logout)
