"""The OAuth host (``{region}.app.anaplan.com``): device code, token, and the approval page.

No endpoint takes an ``Authorization`` header (community OAuth README). The authorization-code
grant (``/auth/authorize``) is not emulated: the connector uses the device grant.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from mlc.sandbox.anaplan.envelope import json_response
from mlc.sandbox.anaplan.oauth import OAuthError
from mlc.sandbox.anaplan.state import TenantRef

_PAGE = """<!doctype html>
<html><head><title>Device activation</title></head><body>
<h1>Activate your device</h1>
<p>{message}</p>
<form method="post" action="/activate">
<label>Code <input name="user_code" value="{user_code}"></label><br>
<label>E-mail <input name="username"></label><br>
<label>Password <input name="password" type="password"></label><br>
<button name="action" value="approve">Confirm</button>
<button name="action" value="deny">Deny</button>
</form></body></html>
"""


async def read_params(request: web.Request) -> dict[str, Any]:
    """The request's parameters, from a JSON or a form-encoded body."""
    raw = await request.read()
    text = raw.decode("utf-8", errors="replace")
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(text, keep_blank_values=True))
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError:
        raise OAuthError(400, "invalid_request", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise OAuthError(400, "invalid_request", "The request body must be a JSON object.")
    return body


def add_oauth_routes(app: web.Application, ref: TenantRef) -> None:
    async def device_code(request: web.Request) -> web.Response:
        tenant = ref.tenant
        params = await read_params(request)
        verification = f"{request.url.origin()}/activate"
        return json_response(tenant.oauth.start_device(params, tenant.now(), verification))

    async def token(request: web.Request) -> web.Response:
        tenant = ref.tenant
        params = await read_params(request)
        body = tenant.oauth.token(params, tenant.now())
        tenant.counters.bump("oauth_tokens_issued")
        return json_response(body)

    async def activate_page(request: web.Request) -> web.Response:
        code = html.escape(request.query.get("user_code", ""))
        text = _PAGE.format(message="Enter the code shown on your device.", user_code=code)
        return web.Response(text=text, content_type="text/html")

    async def activate(request: web.Request) -> web.Response:
        tenant = ref.tenant
        form = await request.post()
        code = str(form.get("user_code", ""))
        email = str(form.get("username", ""))
        password = str(form.get("password", ""))
        allow = str(form.get("action", "approve")) != "deny"
        user = tenant.directory.by_email(email)
        if user is None or user.password != password:
            message = "Wrong e-mail or password."
            status = 401
        elif not tenant.oauth.approve(code, user, tenant.now(), allow):
            message = "That code is not valid or has expired."
            status = 400
        else:
            message = "Device approved." if allow else "Request denied."
            status = 200
        text = _PAGE.format(message=html.escape(message), user_code=html.escape(code))
        return web.Response(status=status, text=text, content_type="text/html")

    app.router.add_post("/oauth/device/code", device_code)
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/activate", activate_page)
    app.router.add_post("/activate", activate)
