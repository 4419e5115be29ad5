"""Integration API: users, workspaces, models, model status, open/close.

Facts (reference/anaplan.md §2, community integration README): ``GET /workspaces/{ws}/models/{M}``
answers **405**; ``/models/{M}/status`` (GET, and POST as the docs show; both path forms) answers a
bare ``{"requestStatus": …}`` with no envelope — idle: ``progress`` -1.0 and ``currentStep``
"Open"/"Closed"; busy: "Processing ..." with the Anaplan tooltip text; ``open`` answers an empty
202, ``close`` an empty 204. Top-level ``sort`` on ``/models`` and ``/workspaces`` needs a
``+``/``-`` prefix and a known field (``name``, ``activeState`` / ``name``, ``sizeAllowance``),
else 400 with Anaplan's messages. The status and metadata endpoints answer while the model is busy.
``GET /workspaces/{ws}`` answers 404 for non-admins on the real service; the demo user is a
workspace administrator (lists and versions need that role), so it answers 200 here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from mlc.sandbox.anaplan.api_context import caller, model_state, workspace
from mlc.sandbox.anaplan.auth import User
from mlc.sandbox.anaplan.envelope import (
    ApiError,
    collection,
    iso_millis,
    json_response,
    schema,
    success,
)
from mlc.sandbox.anaplan.state import ModelState, Tenant, TenantRef, Workspace

_SORT_TERM = re.compile(r"^([+-])([A-Za-z]+)$")


def validated_sort(raw: str | None, allowed: Sequence[str]) -> list[tuple[str, bool]]:
    """``[(field, descending)]`` for a top-level ``sort`` parameter, or a 400 like Anaplan's."""
    if not raw:
        return []
    terms = []
    for term in raw.split(","):
        match = _SORT_TERM.match(term.strip())
        if match is None:
            raise ApiError(
                400,
                f"Bad sort order format: '{term}'. Please follow "
                "(-){column_name_1},(+){column_name_2}.. format",
            )
        if match.group(2) not in allowed:
            raise ApiError(400, "Failed to parse sort parameter")
        terms.append((match.group(2), match.group(1) == "-"))
    return terms


def apply_sort(items: list[dict[str, Any]], terms: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    for field, descending in reversed(terms):
        items.sort(key=lambda item: str(item.get(field, "")).lower(), reverse=descending)
    return items


def user_body(user: User, tenant: Tenant) -> dict[str, Any]:
    return {
        "id": user.guid,
        "active": True,
        "email": user.email,
        "emailOptIn": False,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "customerId": tenant.customer_guid,
    }


def workspace_body(ws: Workspace, details: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": ws.id, "name": ws.name, "active": ws.active}
    if details:
        body["sizeAllowance"] = ws.size_allowance
        body["currentSize"] = ws.current_size
    return body


def model_body(state: ModelState, tenant: Tenant, details: bool) -> dict[str, Any]:
    model = state.model
    ws = tenant.workspaces[model.workspace_id]
    owner = tenant.directory.by_email(model.last_modified_by)
    body: dict[str, Any] = {
        "id": model.id,
        "name": model.name,
        "activeState": model.active_state,
        "currentWorkspaceId": ws.id,
        "currentWorkspaceName": ws.name,
        "modelUrl": (
            "https://us1a.app.anaplan.com/core/app"
            f"?selectedWorkspaceId={ws.id}&selectedModelId={model.id}"
        ),
        "categoryValues": [],
        "isoCreationDate": iso_millis(model.created),
        "lastModified": iso_millis(model.last_modified),
        "lastModifiedByUserGuid": owner.guid if owner is not None else "",
        "lastSavedSerialNumber": str(model.serial),
        "modelTransactionRunning": state.queue.running(tenant.now()) is not None,
    }
    if details:
        body["memoryUsage"] = 48 * 1024**2 + 96 * sum(len(m.cells) for m in model.modules.values())
    return body


def status_body(state: ModelState, tenant: Tenant) -> dict[str, Any]:
    now = tenant.now()
    job = state.queue.running(now)
    body: dict[str, Any] = {
        "peakMemoryUsageEstimate": None,
        "peakMemoryUsageTime": None,
        "progress": -1.0,
        "currentStep": "Open" if state.model.open else "Closed",
        "tooltip": None,
        "exportTaskType": None,
        "creationTime": int(now * 1000),
        "taskId": None,
    }
    if job is not None and job.start is not None:
        started = time.strftime("%H:%M", time.gmtime(job.start))
        body.update(
            progress=job.progress(now),
            currentStep="Processing ...",
            tooltip=(
                f"The system is currently processing an {job.label}:\n\n"
                f"{job.label} started by user {job.actor.display_name} ({job.actor.email})\n\n"
                f"{job.label} started at {started} (UTC)\n"
                "Tasks can be cancelled in Model Management."
            ),
            taskId=job.task_id,
        )
    return {"requestStatus": body}


def _truthy(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() == "true"


def add_meta_routes(app: web.Application, ref: TenantRef) -> None:
    def route(handler: Callable[[web.Request, Tenant], Any]) -> Callable[[web.Request], Any]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            tenant = ref.tenant
            caller(request, tenant)
            result: web.StreamResponse = await handler(request, tenant)
            return result

        return wrapped

    async def me(request: web.Request, tenant: Tenant) -> web.Response:
        user = caller(request, tenant)
        return success("user", user_body(user, tenant), schema("user"))

    async def user_by_id(request: web.Request, tenant: Tenant) -> web.Response:
        for user in tenant.directory.users.values():
            if user.guid == request.match_info["user_id"]:
                return success("user", user_body(user, tenant), schema("user"))
        raise ApiError(404)

    async def workspaces(request: web.Request, tenant: Tenant) -> web.Response:
        terms = validated_sort(request.query.get("sort"), ("name", "sizeAllowance"))
        details = _truthy(request, "tenantDetails")
        items = apply_sort([workspace_body(w, details) for w in tenant.workspaces.values()], terms)
        return collection(request, "workspaces", items, schema("workspace"))

    async def one_workspace(request: web.Request, tenant: Tenant) -> web.Response:
        ws = workspace(tenant, request.match_info["workspace_id"])
        return success("workspace", workspace_body(ws, True), schema("workspace"))

    async def models(request: web.Request, tenant: Tenant) -> web.Response:
        terms = validated_sort(request.query.get("sort"), ("name", "activeState"))
        details = _truthy(request, "modelDetails")
        workspace_id = request.match_info.get("workspace_id")
        if workspace_id is not None:
            workspace(tenant, workspace_id)
        items = [
            model_body(s, tenant, details)
            for s in tenant.models.values()
            if workspace_id is None or s.model.workspace_id == workspace_id
        ]
        return collection(request, "models", apply_sort(items, terms), schema("model"))

    async def one_model(request: web.Request, tenant: Tenant) -> web.Response:
        state = model_state(request, tenant)
        body = model_body(state, tenant, _truthy(request, "modelDetails"))
        return success("model", body, schema("model"))

    async def method_not_allowed(request: web.Request, tenant: Tenant) -> web.Response:
        raise ApiError(405)

    async def status(request: web.Request, tenant: Tenant) -> web.Response:
        return json_response(status_body(model_state(request, tenant), tenant))

    async def open_model(request: web.Request, tenant: Tenant) -> web.Response:
        state = model_state(request, tenant)
        state.model.open = True
        return web.Response(status=202)

    async def close_model(request: web.Request, tenant: Tenant) -> web.Response:
        state = model_state(request, tenant)
        state.model.open = False
        return web.Response(status=204)

    add = app.router.add_route
    add("GET", "/2/0/users/me", route(me))
    add("GET", "/2/0/users/{user_id}", route(user_by_id))
    add("GET", "/2/0/workspaces", route(workspaces))
    add("GET", "/2/0/workspaces/{workspace_id}", route(one_workspace))
    add("GET", "/2/0/models", route(models))
    add("GET", "/2/0/workspaces/{workspace_id}/models", route(models))
    add("GET", "/2/0/models/{model_id}", route(one_model))
    add("GET", "/2/0/workspaces/{workspace_id}/models/{model_id}", route(method_not_allowed))
    for prefix in ("/2/0/models/{model_id}", "/2/0/workspaces/{workspace_id}/models/{model_id}"):
        add("GET", f"{prefix}/status", route(status))
        add("POST", f"{prefix}/status", route(status))
        add("POST", f"{prefix}/open", route(open_model))
        add("POST", f"{prefix}/close", route(close_model))
