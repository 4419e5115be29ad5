"""Resolving the caller, workspace and model of an Integration API request.

Both header schemes are accepted for both token kinds (community spec: ``Bearer`` with an
Authentication API token works on ``/users/me``, ``/workspaces``, ``/models``; the Administration
API accepts OAuth access tokens under ``AnaplanAuthToken``; anaplan-sdk's OAuth classes send
``AnaplanAuthToken``). A missing, unknown, expired or revoked token answers 401.

Unknown workspace or model ids answer the 404 envelope, as does a model addressed under a workspace
it does not belong to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from mlc.sandbox.anaplan.auth import User
from mlc.sandbox.anaplan.envelope import ApiError
from mlc.sandbox.anaplan.hostapp import token_from_header
from mlc.sandbox.anaplan.state import ModelState, Tenant, TenantRef, Workspace


def caller(request: web.Request, tenant: Tenant, failure_status: int = 401) -> User:
    found = token_from_header(request)
    if found is None:
        raise ApiError(failure_status)
    token = tenant.tokens.lookup(found[1], tenant.now())
    if token is None:
        raise ApiError(failure_status)
    return token.user


def workspace(tenant: Tenant, workspace_id: str) -> Workspace:
    found = tenant.workspaces.get(workspace_id)
    if found is None:
        raise ApiError(404)
    return found


def model_state(request: web.Request, tenant: Tenant) -> ModelState:
    """The model named in the path (``model_id``, under ``workspace_id`` when present), settled."""
    state = tenant.models.get(request.match_info["model_id"])
    if state is None:
        raise ApiError(404)
    workspace_id = request.match_info.get("workspace_id")
    if workspace_id is not None and state.model.workspace_id != workspace_id:
        raise ApiError(404)
    state.queue.settle(tenant.now())
    return state


async def idle_model_state(request: web.Request, tenant: Tenant) -> ModelState:
    """Like :func:`model_state`, but first waits while the model runs a task (help 4e3e18e7)."""
    state = model_state(request, tenant)

    def gone() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    await tenant.wait_idle(state, gone)
    return state


#: An API handler that has been told who is calling, on which tenant.
UserHandler = Callable[[web.Request, Tenant, User], Awaitable[web.StreamResponse]]


def authenticated(
    ref: TenantRef, handler: UserHandler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``handler`` behind the token check: a request without a valid token never reaches it."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        tenant = ref.tenant
        user = caller(request, tenant)
        return await handler(request, tenant, user)

    return wrapped
