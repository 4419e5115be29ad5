"""The CloudWorks host (``api.cloudworks.anaplan.com/2/0``): integrations, runs and run history.

Shapes from the community CloudWorks spec (live-tested): success bodies carry
``{"status": {"code": 200, "message": "Success"}}``; ``GET /integrations`` pages with
``offset``/``limit`` (default 25) and its ``meta`` carries ``paging``, ``tenantCurrentCount`` and
``tenantMaxAllowed``; an empty list is ``[]`` (unlike the Integration API); run history needs
``offset`` and ``limit`` (400 without); ``runerror`` answers ``"runs": {}`` when there were no
errors; ``/run/{id}/dumps`` of a clean run is a JSON 404 "Your integration run was successful / no
errors"; unknown routes get nginx's HTML 404.

Decision: an invalid or expired token answers 401 like the Integration API (the Apiary text
describes 403 as "verify the AnaplanAuthToken has not expired"; no live observation exists, and one
gateway validating tokens the same way for every API is the likelier reading).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mlc.sandbox.anaplan import ids
from mlc.sandbox.anaplan.api_context import caller
from mlc.sandbox.anaplan.auth import User
from mlc.sandbox.anaplan.cloudworks import Integration, Run
from mlc.sandbox.anaplan.envelope import ApiError, json_response
from mlc.sandbox.anaplan.jobs import hold_job
from mlc.sandbox.anaplan.state import Tenant, TenantRef

OK = {"code": 200, "message": "Success"}
SCHEMA = "https://api.cloudworks.anaplan.com/1/0/integrations/objects"
TENANT_MAX_INTEGRATIONS = 500

Handler = Callable[[web.Request, Tenant, User], Awaitable[web.Response]]


def start_run(
    tenant: Tenant, integration: Integration, seconds: float, trigger: str = "manual"
) -> Run:
    """Queue a run of ``integration`` that holds its model's lock for ``seconds``."""
    state = tenant.models[integration.model_id]
    job = hold_job(
        tenant,
        "cloudworks",
        integration.integration_type,
        integration.action_id,
        integration.action_name,
        tenant.options.user,
        seconds,
    )
    run = Run(
        ids.lower_hex32(), integration.id, tenant.user.display_name, trigger, tenant.now(), job
    )
    integration.runs.append(run)
    tenant.runs[run.id] = run
    state.queue.submit(job)
    state.queue.settle(tenant.now())
    tenant.counters.bump("cloudworks_runs_started")
    return run


def _int(request: web.Request, name: str, default: int | None) -> int:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise ApiError(400, f"Missing required query parameter '{name}'")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value for '{name}'") from None
    if value < 0:
        raise ApiError(400, f"Invalid value for '{name}'")
    return value


def _paging(items: list[Any], offset: int, limit: int) -> tuple[list[Any], dict[str, int]]:
    page = items[offset : offset + limit]
    return page, {"currentPageSize": len(page), "totalSize": len(items), "offset": offset}


def add_cloudworks_routes(app: web.Application, ref: TenantRef) -> None:
    def route(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            tenant = ref.tenant
            user = caller(request, tenant)
            tenant.settle_all()
            return await handler(request, tenant, user)

        return wrapped

    def _integration(request: web.Request, tenant: Tenant) -> Integration:
        found = tenant.integrations.get(request.match_info["integration_id"])
        if found is None:
            raise ApiError(404, "Resource not found")
        return found

    def _run(request: web.Request, tenant: Tenant) -> Run:
        found = tenant.runs.get(request.match_info["run_id"])
        if found is None:
            raise ApiError(404, "Resource not found")
        return found

    async def list_integrations(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        offset = _int(request, "offset", 0)
        limit = _int(request, "limit", 25)
        mine = request.query.get("myIntegrations", "0") == "1"
        items = [
            i.summary()
            for i in tenant.integrations.values()
            if not mine or i.created_by == user.display_name
        ]
        sort = request.query.get("sortBy", "")
        if sort.lstrip("-") == "name":
            items.sort(key=lambda i: str(i["name"]).lower(), reverse=sort.startswith("-"))
        page, paging = _paging(items, offset, limit)
        return json_response(
            {
                "status": OK,
                "integrations": page,
                "meta": {
                    "paging": paging,
                    "tenantCurrentCount": len(tenant.integrations),
                    "tenantMaxAllowed": TENANT_MAX_INTEGRATIONS,
                    "schema": f"{SCHEMA}/integrations",
                },
            }
        )

    async def get_integration(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        integration = _integration(request, tenant)
        return json_response({"status": OK, "integration": integration.detail()})

    async def run_integration(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        integration = _integration(request, tenant)
        latest = integration.latest_run()
        if latest is not None and latest.active:
            raise ApiError(409, "Integration is already running")
        run = start_run(tenant, integration, tenant.options.cloudworks_run_seconds)
        return json_response({"status": OK, "run": {"id": run.id}})

    async def cancel_integration(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        integration = _integration(request, tenant)
        latest = integration.latest_run()
        if latest is not None and latest.queued:
            raise ApiError(404, "Resource not found")
        if latest is None or not latest.active or latest.job is None:
            raise ApiError(409, f"Integration {integration.id} is not in running state")
        tenant.models[integration.model_id].queue.cancel(latest.job, tenant.now())
        return json_response({"status": OK})

    async def run_history(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        integration = _integration(request, tenant)
        offset = _int(request, "offset", None)
        limit = _int(request, "limit", None)
        records = [r.record() for r in reversed(integration.runs)]
        page, paging = _paging(records, offset, limit)
        summary = integration.summary()
        summary.pop("latestRun", None)
        history = {**summary, "version": "2.0", "schedule": None, "status": 1}
        history.update(runs=page, totalRuns=len(records))
        return json_response(
            {
                "status": OK,
                "history_of_runs": history,
                "meta": {"paging": paging, "schema": f"{SCHEMA}/runs"},
            }
        )

    async def run_status(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        run = _run(request, tenant)
        return json_response(
            {"status": OK, "run": run.status(), "meta": {"schema": f"{SCHEMA}/run"}}
        )

    async def run_errors(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        _run(request, tenant)
        return json_response({"status": OK, "runs": {}, "meta": {"schema": f"{SCHEMA}/runerror"}})

    async def run_dumps(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        _run(request, tenant)
        raise ApiError(404, "Your integration run was successful / no errors")

    add = app.router.add_route
    add("GET", "/2/0/integrations", route(list_integrations))
    add("GET", "/2/0/integrations/runs/{integration_id}", route(run_history))
    add("GET", "/2/0/integrations/run/{run_id}", route(run_status))
    add("GET", "/2/0/integrations/run/{run_id}/dumps", route(run_dumps))
    add("GET", "/2/0/integrations/runerror/{run_id}", route(run_errors))
    add("GET", "/2/0/integrations/{integration_id}", route(get_integration))
    add("POST", "/2/0/integrations/{integration_id}/run", route(run_integration))
    add("POST", "/2/0/integrations/{integration_id}/cancel", route(cancel_integration))
