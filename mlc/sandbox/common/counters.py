"""Request counters by host role, method, route template and status, plus domain counters.

Tests and benchmarks read them through ``GET /_sandbox/counters`` to prove what reached the
emulated system (how many tasks started, how many requests in a minute, how many 401s), which is
the only honest way to check a client's behaviour from the outside.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTROL_PREFIX = "/_sandbox"


def route_template(request: web.Request) -> str:
    """The matched resource's canonical path (``/2/0/models/{model_id}``), or ``<unmatched>``."""
    route = request.match_info.route
    resource = route.resource
    if resource is None or isinstance(request.match_info.http_exception, web.HTTPException):
        return "<unmatched>"
    return resource.canonical


class RequestCounters:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, str, int]] = Counter()
        self.domain: Counter[str] = Counter()

    def record(self, host: str, method: str, route: str, status: int) -> None:
        self.requests[(host, method, route, status)] += 1

    def bump(self, name: str, n: int = 1) -> None:
        self.domain[name] += n

    def high_water(self, name: str, value: int) -> None:
        """Keep the largest ``value`` seen under ``name`` (e.g. concurrent tasks on a model)."""
        if value > self.domain[name]:
            self.domain[name] = value

    def reset(self) -> None:
        self.requests.clear()
        self.domain.clear()

    def snapshot(self) -> dict[str, object]:
        return {
            "requests": [
                {"host": host, "method": method, "route": route, "status": status, "count": n}
                for (host, method, route, status), n in sorted(self.requests.items())
            ],
            "counters": dict(sorted(self.domain.items())),
        }


def counting_middleware(counters: RequestCounters, host: str) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        route = route_template(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            counters.record(host, request.method, route, exc.status)
            raise
        except ConnectionResetError:
            counters.record(host, request.method, route, 0)
            raise
        counters.record(host, request.method, route, response.status)
        return response

    return middleware
