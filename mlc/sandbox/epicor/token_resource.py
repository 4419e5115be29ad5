"""``POST /{instance}/TokenResource.svc/``: Epicor's own bearer tokens (on-premises style).

Request [NGT, KD]: empty body, credentials in the ``username`` and ``password`` headers
(kinetic-devops sends ``userName``; header names are case-insensitive). Response
``{"AccessToken": "<JWT>", "ExpiresIn": <seconds>, "TokenType": "Bearer"}`` as JSON when
``Accept`` asks for JSON; otherwise the WCF default, XML ``<Token><AccessToken>…`` (one client
parsed that when it did not send a JSON ``Accept``; reference §2).

Whether the API key is required here is unverified (kinetic-devops sends it): the emulator
accepts the call without one — the resource is not part of the v2 API the key guards — but rejects
a wrong one (401). Wrong credentials are 401 in Epicor's error body.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from mlc.sandbox.epicor.auth import Tokens, check_api_key, same_user
from mlc.sandbox.epicor.config import EpicorOptions
from mlc.sandbox.epicor.errors import api_error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_resource(options: EpicorOptions, tokens: Tokens) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if "x-api-key" in request.headers or "api-key" in request.query:
            check_api_key(request, options)
        user = request.headers.get("username", "")
        password = request.headers.get("password", "")
        if not user or not password:
            raise api_error(401, "The username and password headers are required.")
        if not same_user(user, options) or not hmac.compare_digest(
            password.encode(), options.password.encode()
        ):
            raise api_error(401, "Invalid user name or password.")
        token, lifetime = tokens.issue({"username": options.user, "iss": "Epicor"})
        accept = request.headers.get("Accept", "").lower()
        if "json" in accept:
            return web.json_response(
                {"AccessToken": token, "ExpiresIn": lifetime, "TokenType": "Bearer"}
            )
        xml = (
            '<Token xmlns="http://schemas.datacontract.org/2004/07/Ice.Lib.Framework" '
            'xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
            f"<AccessToken>{token}</AccessToken><ExpiresIn>{lifetime}</ExpiresIn>"
            "<TokenType>Bearer</TokenType></Token>"
        )
        return web.Response(text=xml, content_type="application/xml")

    return handler
