"""One aiohttp application per emulated host, with the shared middleware and control routes."""

from __future__ import annotations

from aiohttp import web

from mlc.sandbox.common.control import SandboxControl, add_control_routes
from mlc.sandbox.common.counters import counting_middleware
from mlc.sandbox.common.faults import fault_middleware


def new_host_app(
    ctl: SandboxControl, role: str, client_max_size: int = 64 * 1024**2
) -> web.Application:
    """An application for host ``role``: counted, fault-injectable, with ``/_sandbox/`` routes.

    Counting wraps fault injection, so injected failures show up in the counters exactly as the
    client saw them (a dropped connection is counted with status 0).
    """
    app = web.Application(
        middlewares=[counting_middleware(ctl.counters, role), fault_middleware(ctl.faults, role)],
        client_max_size=client_max_size,
    )
    add_control_routes(app, ctl)
    return app
