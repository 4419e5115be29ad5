"""What every Anaplan host shares: the tenant rate limit and each host's own error bodies.

Error bodies per host (reference/anaplan.md §1-4):

* API host: the ``{"status": {"code", "message"}, "path", "timestamp"}`` envelope, also for unknown
  routes (404) and known routes with the wrong method (405, as ``GET /workspaces/{ws}/models/{M}``);
* CloudWorks: the same envelope from the application, but an unknown route gets nginx's HTML 404
  page (live: ``/integrations/run/{id}/dump`` vs ``/dumps``);
* authentication host: ``{"status": "FAILURE_…", "statusMessage": …}``;
* OAuth host: ``{"error", "error_description"}``.

The 401 body of the Integration API is unverified; it is the envelope with "Unauthorized".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from mlc.sandbox.anaplan.auth import AuthFailure
from mlc.sandbox.anaplan.envelope import ApiError, error_body, json_response
from mlc.sandbox.anaplan.oauth import OAuthError
from mlc.sandbox.anaplan.ratelimit import RateLimiter
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.counters import CONTROL_PREFIX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API = "api"
AUTH = "auth"
OAUTH = "oauth"
CLOUDWORKS = "cloudworks"

_NGINX_404 = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def render_error(
    flavour: str, request: web.Request, status: int, message: str, now: float, extra: dict[str, Any]
) -> web.Response:
    if flavour == AUTH:
        body: dict[str, Any] = {
            "status": extra.get("auth_status", "FAILURE"),
            "statusMessage": message,
        }
    elif flavour == OAUTH:
        body = {"error": extra.get("error", "invalid_request"), "error_description": message}
    else:
        body = error_body(request, status, message, now)
    response = json_response(body, status)
    for name, value in extra.get("headers", {}).items():
        response.headers[name] = value
    return response


def host_middlewares(
    flavour: str,
    limiter: RateLimiter,
    clock: SandboxClock,
    storm: Callable[[], bool] = lambda: False,
) -> list[Middleware]:
    """Rate limit (outer) and error rendering (inner) for one host; ``storm()`` forces a 429."""

    @web.middleware
    async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        wait = 1.0 if storm() else limiter.admit()
        if wait is None:
            return await handler(request)
        extra: dict[str, Any] = {
            "headers": limiter.retry_after_header(wait),
            "error": "too_many_requests",
            "auth_status": "FAILURE_TOO_MANY_REQUESTS",
        }
        return render_error(flavour, request, 429, "Too Many Requests", clock.time(), extra)

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        now = clock.time()
        try:
            return await handler(request)
        except ApiError as exc:
            return render_error(flavour, request, exc.status, exc.message, now, exc.extra)
        except AuthFailure as exc:
            extra = {"auth_status": exc.status}
            return render_error(flavour, request, exc.http_status, exc.message, now, extra)
        except OAuthError as exc:
            extra = {"error": exc.error}
            return render_error(flavour, request, exc.http_status, exc.description, now, extra)
        except web.HTTPNotFound:
            if flavour == CLOUDWORKS:
                return web.Response(status=404, text=_NGINX_404, content_type="text/html")
            extra = {"error": "not_found", "auth_status": "FAILURE"}
            return render_error(flavour, request, 404, "Not Found", now, extra)
        except web.HTTPMethodNotAllowed:
            extra = {"error": "invalid_request", "auth_status": "FAILURE"}
            return render_error(flavour, request, 405, "Method Not Allowed", now, extra)

    return [rate_limit, errors]


def token_from_header(request: web.Request) -> tuple[str, str] | None:
    """``(scheme, token)`` of an ``AnaplanAuthToken``/``Bearer`` header, else None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return None
    if scheme == "AnaplanAuthToken":
        return "AnaplanAuthToken", value
    if scheme.lower() == "bearer":
        return "Bearer", value
    return None
