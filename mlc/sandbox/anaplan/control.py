"""Anaplan-specific sandbox control: domain faults and ``/_sandbox/anaplan/…`` routes.

Domain fault kinds for ``POST /_sandbox/faults``:

``{"kind": "rate_limit_storm", "count": N}``
    the next N emulated requests (any host) answer 429 with the host's own 429 body, as if the
    tenant limit were exhausted;
``{"kind": "cloudworks_lock", "seconds": S, "integration": "<id or name>"}``
    start a CloudWorks run (default: the first integration) that holds its model's lock for S
    sandbox seconds — visible in ``GET /integrations`` and the model status while it runs;
``{"kind": "task_failure", "mode": "fail" | "partial", "every": 10, "action": "<id or name>",
"count": 1}``
    the next ``count`` tasks of the action (any import/export when omitted) fail completely
    (``successful: false``) or, for imports, reject every ``every``-th row into the failure dump.

Routes: ``POST /_sandbox/anaplan/other-user-task`` ``{"action": "<import id or name>", "seconds":
S}`` starts a task by the seeded second user (planner@demo.example) that holds the model lock;
``POST /_sandbox/anaplan/oauth/approve`` ``{"user_code": …, "user": …, "deny": false}`` approves a
device code; ``POST /_sandbox/anaplan/ratelimit`` ``{"per_minute": N, "retry_after": bool}`` changes
the limiter. ``DELETE /_sandbox/faults`` also clears pending domain faults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from mlc.sandbox.anaplan.actions import ExportDefinition, ImportDefinition
from mlc.sandbox.anaplan.importer import Injected
from mlc.sandbox.anaplan.jobs import hold_job
from mlc.sandbox.anaplan.ratelimit import RateLimiter
from mlc.sandbox.anaplan.routes_cloudworks import start_run
from mlc.sandbox.anaplan.state import InjectedFailure, TenantRef
from mlc.sandbox.common.control import read_json_object
from mlc.sandbox.common.faults import FaultError, Faults


class AnaplanFaults(Faults):
    """Generic faults plus the Anaplan domain kinds; clearing clears both."""

    def __init__(self, on_clear: Callable[[], None]) -> None:
        super().__init__()
        self._on_clear = on_clear

    def clear(self) -> None:
        super().clear()
        self._on_clear()


class Storm:
    """A pending 429 storm: the next ``remaining`` requests are refused."""

    def __init__(self) -> None:
        self.remaining = 0

    def take(self) -> bool:
        if self.remaining == 0:
            return False
        if self.remaining > 0:
            self.remaining -= 1
        return True


def _number(spec: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = spec.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise FaultError(f"'{name}' must be a non-negative number")
    return float(value)


def register_domain_faults(faults: Faults, ref: TenantRef, storm: Storm) -> None:
    async def rate_limit_storm(spec: Mapping[str, Any]) -> Mapping[str, Any]:
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < -1:
            raise FaultError("'count' must be a non-negative integer or -1 (until cleared)")
        storm.remaining = count
        return {"count": count}

    async def cloudworks_lock(spec: Mapping[str, Any]) -> Mapping[str, Any]:
        tenant = ref.tenant
        tenant.settle_all()
        seconds = _number(spec, "seconds", tenant.options.cloudworks_run_seconds)
        wanted = spec.get("integration")
        integrations = [
            i for i in tenant.integrations.values() if wanted is None or wanted in (i.id, i.name)
        ]
        if not integrations:
            raise FaultError(f"no CloudWorks integration {wanted!r}")
        integration = integrations[0]
        latest = integration.latest_run()
        if latest is not None and latest.active:
            raise FaultError(f"integration {integration.name!r} is already running")
        run = start_run(tenant, integration, seconds, trigger="scheduled")
        return {
            "run_id": run.id,
            "integration_id": integration.id,
            "model_id": integration.model_id,
        }

    async def task_failure(spec: Mapping[str, Any]) -> Mapping[str, Any]:
        mode = spec.get("mode", "fail")
        if mode not in ("fail", "partial"):
            raise FaultError("'mode' must be 'fail' or 'partial'")
        every = int(_number(spec, "every", 10))
        if every < 1:
            raise FaultError("'every' must be at least 1")
        count = spec.get("count", 1)
        if not isinstance(count, int) or count == 0 or count < -1:
            raise FaultError("'count' must be a positive integer or -1")
        action = spec.get("action")
        if action is not None and not isinstance(action, str):
            raise FaultError("'action' must be an action id or name")
        ref.tenant.injected.append(InjectedFailure(Injected(str(mode), every), action, count))
        return {"mode": mode, "action": action, "count": count}

    faults.register_kind("rate_limit_storm", rate_limit_storm)
    faults.register_kind("cloudworks_lock", cloudworks_lock)
    faults.register_kind("task_failure", task_failure)


def add_anaplan_control_routes(app: web.Application, ref: TenantRef, limiter: RateLimiter) -> None:
    async def other_user_task(request: web.Request) -> web.Response:
        tenant = ref.tenant
        body = await read_json_object(request)
        wanted = body.get("action", "Load GL Actuals")
        seconds = body.get("seconds", 60)
        if not isinstance(seconds, int | float) or seconds < 0:
            return web.json_response(
                {"error": "'seconds' must be a non-negative number"}, status=400
            )
        for state in tenant.models.values():
            definitions: list[ImportDefinition | ExportDefinition] = [
                *state.imports.values(),
                *state.exports.values(),
            ]
            for definition in definitions:
                if wanted in (definition.id, definition.name):
                    kind = "import" if definition.id in state.imports else "export"
                    job = hold_job(
                        tenant,
                        kind,
                        kind.capitalize(),
                        definition.id,
                        definition.name,
                        tenant.options.other_user,
                        float(seconds),
                    )
                    state.queue.submit(job)
                    state.queue.settle(tenant.now())
                    return web.json_response(
                        {
                            "taskId": job.task_id,
                            "modelId": state.model.id,
                            "actionId": definition.id,
                        },
                        status=201,
                    )
        return web.json_response({"error": f"no import or export {wanted!r}"}, status=404)

    async def approve(request: web.Request) -> web.Response:
        tenant = ref.tenant
        body = await read_json_object(request)
        user = tenant.directory.by_email(str(body.get("user", tenant.options.user)))
        if user is None:
            return web.json_response({"error": "unknown user"}, status=404)
        allowed = not bool(body.get("deny", False))
        if not tenant.oauth.approve(str(body.get("user_code", "")), user, tenant.now(), allowed):
            return web.json_response({"error": "unknown or expired user_code"}, status=404)
        return web.json_response({"approved": allowed, "user": user.email})

    async def rate_limit(request: web.Request) -> web.Response:
        body = await read_json_object(request)
        per_minute = body.get("per_minute", limiter.per_minute)
        if not isinstance(per_minute, int) or per_minute < 0:
            return web.json_response(
                {"error": "'per_minute' must be a non-negative integer"}, status=400
            )
        limiter.per_minute = per_minute
        limiter.retry_after = bool(body.get("retry_after", limiter.retry_after))
        return web.json_response(
            {"per_minute": limiter.per_minute, "retry_after": limiter.retry_after}
        )

    app.router.add_post("/_sandbox/anaplan/other-user-task", other_user_task)
    app.router.add_post("/_sandbox/anaplan/oauth/approve", approve)
    app.router.add_post("/_sandbox/anaplan/ratelimit", rate_limit)
