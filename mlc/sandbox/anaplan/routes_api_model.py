"""Integration API model data: lists and their items, modules, line items, dimensions, versions,
calendar, and cell writes.

These are the endpoints that *wait* while the model runs a task ("All other endpoints wait for the
model to become available", help 27b77b79; "any attempt to read information via the API is
blocked", help 4e3e18e7): the request stays open until the lock is released.

Shapes (reference/anaplan.md §2 "Lists", "Modules/line items/views/cells"; community spec):
``GET …/lists/{L}/items`` answers ``listItems`` (JSON) or CSV with ``Accept: text/csv``; properties
are string-encoded and ``properties``/``subsets`` appear only with ``includeAll=true``; a list over
1,000,000 items answers 400. ``POST …/items?action=add`` (≤ 100,000 items) answers ``{added,
ignored, total, failures?}`` — an item whose code already exists is *ignored*; ``PUT …/items``
answers ``{updated, ignored, total}``; ``POST …/items?action=delete`` answers ``{deleted,
failures?}``. Cell writes ``POST /models/{M}/modules/{mod}/data`` answer ``{numberOfCellsChanged,
failures?}``. Decisions: failure types ``DUPLICATE_NAME``, ``PARENT_NOT_FOUND``, ``MISSING_NAME``,
``ITEM_NOT_FOUND``, ``INVALID_DIMENSION``, ``INVALID_VALUE`` (names unverified).
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from mlc.sandbox.anaplan.api_context import UserHandler, authenticated, idle_model_state
from mlc.sandbox.anaplan.auth import User
from mlc.sandbox.anaplan.envelope import ApiError, collection, json_response, schema, success
from mlc.sandbox.anaplan.model import Dimension, ListDim, Member, Model, Module
from mlc.sandbox.anaplan.routes_api_bulk import M, W
from mlc.sandbox.anaplan.state import Tenant, TenantRef

MAX_LIST_READ = 1_000_000
MAX_LIST_WRITE = 100_000


def _list(model: Model, request: web.Request) -> ListDim:
    dim = model.lists.get(request.match_info["list_id"])
    if dim is None:
        raise ApiError(404)
    return dim


def _module(model: Model, request: web.Request) -> Module:
    module = model.modules.get(request.match_info["module_id"])
    if module is None:
        raise ApiError(404)
    return module


def _member_body(dim: ListDim, member: Member, include_all: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": member.id, "name": member.name}
    if member.code:
        body["code"] = member.code
    if member.parent_id and dim.parent is not None:
        parent = dim.parent.members.get(member.parent_id)
        if parent is not None:
            body["parent"] = parent.name
            body["parentId"] = parent.id
            body["listId"] = dim.parent.id
            body["listName"] = dim.parent.name
    if include_all and member.properties:
        body["properties"] = dict(member.properties)
    return body


def _list_metadata(dim: ListDim) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": dim.id,
        "name": dim.name,
        "itemCount": len(dim),
        "hasSelectiveAccess": False,
        "numberedList": False,
        "nextItemIndex": dim.next_index,
        "permittedItems": MAX_LIST_READ - len(dim),
        "productionData": False,
        "useTopLevelAsPageDefault": False,
        "workflowEnabled": False,
    }
    if dim.property_names:
        body["properties"] = [{"name": p, "format": "TEXT"} for p in dim.property_names]
    if dim.parent is not None:
        body["parent"] = {"id": dim.parent.id, "name": dim.parent.name}
    return body


async def _read_items(request: web.Request) -> list[Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Malformed JSON request body") from None
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiError(400, "Expected mandatory field 'items' to be present and not empty.")
    if len(items) > MAX_LIST_WRITE:
        raise ApiError(400, f"At most {MAX_LIST_WRITE} items can be written in one call.")
    return items


def _failure(index: int, kind: str, details: str) -> dict[str, Any]:
    return {"requestIndex": index, "failureType": kind, "failureMessageDetails": details}


def _dimension_items(dim: Dimension) -> list[dict[str, Any]]:
    items = []
    for item in dim.items():
        body = {"id": item.id, "name": item.name}
        if item.code:
            body["code"] = item.code
        items.append(body)
    return items


def add_model_routes(app: web.Application, ref: TenantRef) -> None:
    def route(handler: UserHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        return authenticated(ref, handler)

    async def lists(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        items = [{"id": d.id, "name": d.name} for d in model.lists.values()]
        return collection(request, "lists", items, schema("list", model.id))

    async def list_metadata(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        dim = _list(model, request)
        return success("metadata", _list_metadata(dim), schema("listMetadata", model.id))

    async def list_items(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        dim = _list(model, request)
        if len(dim) > MAX_LIST_READ:
            raise ApiError(400, f"List has more than {MAX_LIST_READ} items; use a read request.")
        include_all = request.query.get("includeAll", "").lower() == "true"
        members = [_member_body(dim, m, include_all) for m in dim.members.values()]
        if "text/csv" in request.headers.get("Accept", ""):
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            props = list(dim.property_names) if include_all else []
            writer.writerow(["id", "name", "code", "parent", *props])
            for m in members:
                props_of = m.get("properties", {})
                writer.writerow(
                    [m["id"], m["name"], m.get("code", ""), m.get("parent", "")]
                    + [props_of.get(p, "") for p in props]
                )
            return web.Response(text=out.getvalue(), content_type="text/csv")
        if not members:
            return success(None, None, schema("list"))
        return success("listItems", members, schema("list"))

    async def add_or_delete_items(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = await idle_model_state(request, tenant)
        model = state.model
        dim = _list(model, request)
        action = request.query.get("action")
        if action not in ("add", "delete"):
            raise ApiError(400, "Query parameter 'action' must be 'add' or 'delete'.")
        items = await _read_items(request)
        failures: list[dict[str, Any]] = []
        if action == "delete":
            deleted = 0
            for index, item in enumerate(items):
                member = None
                if isinstance(item, dict):
                    if "id" in item:
                        member = dim.members.get(str(item["id"]))
                    elif "code" in item:
                        member = dim.by_code(str(item["code"]))
                if member is None:
                    failures.append(_failure(index, "ITEM_NOT_FOUND", f"Item not found: {item}"))
                    continue
                model.remove_member(dim, member)
                deleted += 1
            if deleted:
                model.touch(tenant.now(), user.email)
            body: dict[str, Any] = {"deleted": deleted}
            if failures:
                body["failures"] = failures
            return _write_result(body, model.id)
        added = ignored = 0
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not str(item.get("name", "")).strip():
                failures.append(_failure(index, "MISSING_NAME", "Item name is missing."))
                continue
            name = str(item["name"]).strip()
            code = str(item.get("code", "") or "").strip()
            if code and dim.by_code(code) is not None:
                ignored += 1
                continue
            if dim.by_name(name) is not None:
                failures.append(_failure(index, "DUPLICATE_NAME", f"Name already exists: {name}"))
                continue
            parent_id = None
            parent_value = item.get("parent")
            if parent_value:
                parent = dim.parent.find(str(parent_value)) if dim.parent is not None else None
                if parent is None:
                    failures.append(
                        _failure(index, "PARENT_NOT_FOUND", f"Parent not found: {parent_value}")
                    )
                    continue
                parent_id = parent.id
            properties = item.get("properties") if isinstance(item.get("properties"), dict) else {}
            dim.add(name, code, parent_id, {str(k): str(v) for k, v in (properties or {}).items()})
            added += 1
        if added:
            model.touch(tenant.now(), user.email)
        result: dict[str, Any] = {"added": added, "ignored": ignored, "total": len(items)}
        if failures:
            result["failures"] = failures
        return _write_result(result, model.id)

    async def update_items(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        dim = _list(model, request)
        items = await _read_items(request)
        updated = ignored = 0
        for item in items:
            member = None
            if isinstance(item, dict):
                if "id" in item:
                    member = dim.members.get(str(item["id"]))
                elif "code" in item:
                    member = dim.by_code(str(item["code"]))
            if member is None or not isinstance(item, dict):
                ignored += 1
                continue
            name = str(item["name"]).strip() if item.get("name") else None
            if (
                name is not None
                and (other := dim.by_name(name)) is not None
                and other is not member
            ):
                ignored += 1
                continue
            parent_id = None
            if item.get("parent") and dim.parent is not None:
                parent = dim.parent.find(str(item["parent"]))
                if parent is None:
                    ignored += 1
                    continue
                parent_id = parent.id
            props = item.get("properties")
            properties = (
                {str(k): str(v) for k, v in props.items()} if isinstance(props, dict) else None
            )
            dim.update(member, name, parent_id, properties)
            updated += 1
        if updated:
            model.touch(tenant.now(), user.email)
        return _write_result(
            {"updated": updated, "ignored": ignored, "total": len(items)}, model.id
        )

    async def modules(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        items = [{"id": m.id, "name": m.name} for m in model.modules.values()]
        return collection(request, "modules", items, schema("module", model.id))

    def _line_item_body(module: Module, include_all: bool) -> list[dict[str, Any]]:
        out = []
        for item in module.line_items:
            body: dict[str, Any] = {
                "moduleId": module.id,
                "moduleName": module.name,
                "id": item.id,
                "name": item.name,
            }
            if include_all:
                body.update(
                    code=item.code,
                    format=item.format,
                    isSummary=False,
                    summary="Sum" if item.format == "NUMBER" else "None",
                    appliesTo=[
                        {"id": d.id, "name": d.name}
                        for d in module.dimensions
                        if isinstance(d, ListDim)
                    ],
                    timeScale="Month",
                    timeRange="Model Calendar",
                    formulaScope="All Versions",
                )
            out.append(body)
        return out

    async def module_line_items(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        module = _module(model, request)
        include_all = request.query.get("includeAll", "").lower() == "true"
        items = _line_item_body(module, include_all)
        return collection(request, "items", items, schema("lineItem", model.id))

    async def all_line_items(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        include_all = request.query.get("includeAll", "").lower() == "true"
        items = [b for m in model.modules.values() for b in _line_item_body(m, include_all)]
        return collection(request, "items", items, schema("lineItem", model.id))

    async def line_item_dimensions(
        request: web.Request, tenant: Tenant, user: User
    ) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        item = model.find_line_item(request.match_info["line_item_id"])
        if item is None:
            raise ApiError(404)
        module = model.modules[item.module_id]
        dims = [{"id": d.id, "name": d.name} for d in module.dimensions]
        return collection(request, "dimensions", dims, schema("dimension", model.id))

    async def dimension_items(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        line_item_id = request.match_info.get("line_item_id")
        dim = model.dimension(request.match_info["dimension_id"])
        if line_item_id is not None:
            item = model.find_line_item(line_item_id)
            if item is None or dim is None or dim not in model.modules[item.module_id].dimensions:
                raise ApiError(404)
        if dim is None:
            raise ApiError(404)
        items = _dimension_items(dim)
        if not items:
            return success(None, None, schema("dimension"))
        return success("items", items, schema("dimension"))

    async def versions(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        first, last = model.time.periods[0], model.time.periods[-1]
        items = [
            {
                "id": version.id,
                "name": version.name,
                "isCurrent": version.is_current,
                "isActual": version.is_actual,
                "editFrom": {"periodText": first.name, "date": first.start.isoformat()},
                "editTo": {"periodText": last.name, "date": last.end.isoformat()},
            }
            for version in model.versions.versions
        ]
        return collection(request, "versionMetadata", items, schema("version"))

    def _current_period(tenant: Tenant, model: Model) -> dict[str, Any]:
        today = datetime.fromtimestamp(tenant.now(), UTC).date()
        period = model.time.find(f"{calendar.month_abbr[today.month]} {today.year % 100:02d}")
        if period is None:
            return {
                "periodText": "",
                "lastDay": "",
                "calendarType": "Calendar Months/Quarters/Years",
            }
        return {
            "periodText": period.name,
            "lastDay": period.end.isoformat(),
            "calendarType": "Calendar Months/Quarters/Years",
        }

    async def current_period(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        return success("currentPeriod", _current_period(tenant, model), schema("period", model.id))

    async def model_calendar(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        model = (await idle_model_state(request, tenant)).model
        current = model.time.first_year + 1
        body = {
            "calendarType": "Calendar Months/Quarters/Years",
            "fiscalYear": {
                "year": f"FY{current % 100:02d}",
                "startDate": f"{current}-01-01",
                "endDate": f"{current}-12-31",
            },
            "currentPeriod": {
                k: v for k, v in _current_period(tenant, model).items() if k != "calendarType"
            },
            "pastYearsCount": 1,
            "futureYearsCount": 1,
            "totalsSelection": {
                "isQuarterTotals": True,
                "isHalfYearTotals": False,
                "isTotalOfAllPeriods": False,
                "isYearToDateSummary": False,
                "isYearToGoSummary": False,
            },
        }
        return success("modelCalendar", body, schema("modelCalendar", model.id))

    async def write_cells(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = await idle_model_state(request, tenant)
        model = state.model
        module = _module(model, request)
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Malformed JSON request body") from None
        if not isinstance(body, list) or not body:
            raise ApiError(400, "Expected a non-empty JSON array of cell writes.")
        changed = 0
        failures: list[dict[str, Any]] = []
        for index, cell in enumerate(body):
            problem, coords, line_item, value = _resolve_cell(model, module, cell)
            if problem is not None:
                failures.append(_failure(index, problem[0], problem[1]))
                continue
            assert coords is not None and line_item is not None
            if module.write(coords, line_item, value):
                changed += 1
        if changed:
            model.touch(tenant.now(), user.email)
        result: dict[str, Any] = {"numberOfCellsChanged": changed}
        if failures:
            result["failures"] = failures
        return _write_result(result, model.id)

    add = app.router.add_route
    for prefix in (W, M):
        add("GET", f"{prefix}/lists", route(lists))
        add("GET", f"{prefix}/lists/{{list_id}}", route(list_metadata))
        add("GET", f"{prefix}/modules", route(modules))
        add("GET", f"{prefix}/modules/{{module_id}}/lineItems", route(module_line_items))
        add("GET", f"{prefix}/lineItems", route(all_line_items))
        add("GET", f"{prefix}/lineItems/{{line_item_id}}/dimensions", route(line_item_dimensions))
        add(
            "GET",
            f"{prefix}/lineItems/{{line_item_id}}/dimensions/{{dimension_id}}/items",
            route(dimension_items),
        )
        add("GET", f"{prefix}/dimensions/{{dimension_id}}/items", route(dimension_items))
        add("GET", f"{prefix}/versions", route(versions))
        add("GET", f"{prefix}/currentPeriod", route(current_period))
        add("GET", f"{prefix}/modelCalendar", route(model_calendar))
        add("POST", f"{prefix}/modules/{{module_id}}/data", route(write_cells))
    add("GET", f"{W}/lists/{{list_id}}/items", route(list_items))
    add("POST", f"{W}/lists/{{list_id}}/items", route(add_or_delete_items))
    add("PUT", f"{W}/lists/{{list_id}}/items", route(update_items))


def _write_result(body: dict[str, Any], model_id: str) -> web.Response:
    envelope: dict[str, Any] = {
        "meta": {"schema": schema("list", model_id)},
        "status": {"code": 200, "message": "Success"},
        **body,
    }
    return json_response(envelope)


def _resolve_cell(
    model: Model, module: Module, cell: object
) -> tuple[tuple[str, str] | None, tuple[str, ...] | None, str | None, float | str | None]:
    if not isinstance(cell, dict) or "value" not in cell:
        return ("INVALID_VALUE", "A cell write needs a value."), None, None, None
    wanted = cell.get("lineItemId") or cell.get("lineItemName")
    item = module.line_item(str(wanted)) if wanted else None
    if item is None:
        return ("INVALID_LINE_ITEM", f"Line item not found: {wanted}"), None, None, None
    given: dict[str, dict[str, Any]] = {}
    for coordinate in cell.get("dimensions") or []:
        if not isinstance(coordinate, dict):
            continue
        key = coordinate.get("dimensionId") or coordinate.get("dimensionName")
        given[str(key)] = coordinate
    coords: list[str] = []
    for dim in module.dimensions:
        coordinate = given.get(dim.id) or given.get(dim.name)
        if coordinate is None:
            return ("INVALID_DIMENSION", f"Missing coordinate for {dim.name}"), None, None, None
        target = (
            coordinate.get("itemId") or coordinate.get("itemCode") or coordinate.get("itemName")
        )
        found = None
        if isinstance(dim, ListDim):
            member = dim.members.get(str(target)) or dim.find(str(target))
            found = member.id if member is not None else None
        else:
            match = dim.find(str(target))
            found = match.id if match is not None else None
        if found is None:
            return (
                ("INVALID_DIMENSION", f"Item not found in {dim.name}: {target}"),
                None,
                None,
                None,
            )
        coords.append(found)
    value = cell["value"]
    if item.format == "NUMBER":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return ("INVALID_VALUE", f"Not a number: {value}"), None, None, None
        try:
            number = float(value)
        except ValueError:
            return ("INVALID_VALUE", f"Not a number: {value}"), None, None, None
        return None, tuple(coords), item.name, number
    return None, tuple(coords), item.name, str(value)
