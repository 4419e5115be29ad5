"""Request pipeline of the API host: Epicor error bodies, v2 authentication, licenses, company.

Order of checks on a v2 call: API key, credentials (401), license (the ``license_exhausted``
fault, 400), company in the URL (404), then routing. An unknown service or entity set under a valid
company is Epicor's REST-layer 404 (``ApiException``) [KB], a known path with an unsupported verb
the ASP.NET 405 — both in Epicor's error body. Names are case-sensitive [SNO, KB], so
``glaccounts`` is such a 404.

``CallSettings`` (company, plant, language as JSON in a header) is accepted and ignored: in v2 the
company comes from the URL and "URL/query values win over the header"; unknown keys and plants do
not error [KB, ALE, EU-cs].

Unknown company: a forum report says a bad company "results in an invalid URL error" [EU-cs];
the emulator answers 404 ``ApiException`` "Invalid URL: company … is not valid" (status
unverified).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from mlc.sandbox.epicor.auth import Principal, Tokens, authenticate
from mlc.sandbox.epicor.config import EpicorOptions
from mlc.sandbox.epicor.errors import (
    LICENSE_EXCEPTION,
    EpicorError,
    api_error,
    error_response,
)
from mlc.sandbox.epicor.faults import EpicorFaults

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger("mlc.sandbox.epicor")

PRINCIPAL = web.RequestKey("epicor_principal", Principal)


def v2_prefix(options: EpicorOptions) -> str:
    return f"/{options.instance}/api/v2/"


def errors_middleware(options: EpicorOptions) -> Middleware:
    prefix = v2_prefix(options)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except EpicorError as error:
            return error_response(request, error)
        except web.HTTPNotFound:
            if request.path.startswith(prefix):
                return error_response(
                    request,
                    api_error(404, f"The requested resource '{request.path}' was not found."),
                )
            raise
        except web.HTTPMethodNotAllowed:
            if request.path.startswith(prefix):
                return error_response(
                    request,
                    api_error(
                        405,
                        f"The requested resource does not support http method '{request.method}'.",
                    ),
                )
            raise
        except web.HTTPException:
            raise
        except (ConnectionResetError, OSError):
            raise
        except Exception:
            log.exception("sandbox_epicor_handler_failed", extra={"path": request.path})
            return error_response(
                request,
                EpicorError(500, "An error has occurred.", "System.Exception"),
            )

    return middleware


def v2_middleware(options: EpicorOptions, tokens: Tokens, faults: EpicorFaults) -> Middleware:
    prefix = v2_prefix(options)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(prefix):
            return await handler(request)
        request[PRINCIPAL] = authenticate(request, options, tokens)
        if faults.take("license_exhausted", request.path) is not None:
            raise EpicorError(
                400,
                "Maximum users exceeded on license for the WebService license type. "
                "LicenseAccessException: no web service license is available.",
                LICENSE_EXCEPTION,
            )
        company = request.match_info.get("company")
        if company is not None and company.casefold() != options.company.casefold():
            raise api_error(404, f"Invalid URL: company '{company}' is not valid.")
        return await handler(request)

    return middleware


def domain_faults_middleware(faults: EpicorFaults) -> Middleware:
    """Clearing faults (``DELETE /_sandbox/faults``) clears Epicor's own kinds too."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if request.method == "DELETE" and request.path == "/_sandbox/faults":
            faults.clear()
        return response

    return middleware
