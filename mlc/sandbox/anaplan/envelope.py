"""Response envelopes, error bodies and paging of the Integration API v2.0.

Shapes (reference/anaplan.md §2 "Envelope", community OpenAPI ``integration/README.md``):

* success: ``{"meta": {"schema": …, "paging": {…}}, "status": {"code": 200, "message":
  "Success"}, "<key>": …}``;
* error: ``{"status": {"code": 404, "message": "Not Found"}, "path": "/2/0/…", "timestamp":
  "2026-07-14T13:55:12.198115662Z"}``, also for unknown routes and 405s;
* an empty collection omits its key. Decision (unverified for most lists): paging is omitted too,
  as in the one live example of an empty collection (dimension items, community README #234);
* paging: ``offset`` and ``limit`` (default and maximum 5000 — a larger ``limit`` is silently
  capped, as anaplan-sdk's truncation warning #349 implies), ``next``/``previous`` are ready URLs
  echoing ``limit`` and ``offset``, ``previous`` only past the first page. A non-integer or
  negative ``offset``/``limit`` answers 400 (unverified wording).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TypeVar

from aiohttp import web

MAX_PAGE_SIZE = 5000
SCHEMA_BASE = "https://api.anaplan.com/2/0"

T = TypeVar("T")


class ApiError(Exception):
    """An error answer of the emulated API; the host's error middleware renders it."""

    def __init__(self, status: int, message: str | None = None, **extra: Any) -> None:
        self.status = status
        self.message = message or HTTPStatus(status).phrase
        self.extra = extra
        super().__init__(f"{status} {self.message}")


def iso_nanos(epoch_seconds: float) -> str:
    """``2026-07-14T13:55:12.198115662Z``: the error envelope's timestamp format."""
    whole = int(epoch_seconds)
    nanos = round((epoch_seconds - whole) * 1e9) % 1_000_000_000
    stamp = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def iso_millis(epoch_seconds: float) -> str:
    """``2026-06-19T01:30:16.000Z``: CloudWorks date format."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", charset="UTF-8"
    )


def error_body(request: web.Request, status: int, message: str, now: float) -> dict[str, Any]:
    return {
        "status": {"code": status, "message": message},
        "path": request.path,
        "timestamp": iso_nanos(now),
    }


def schema(kind: str, model_id: str | None = None) -> str:
    if model_id is None:
        return f"{SCHEMA_BASE}/objects/{kind}"
    return f"{SCHEMA_BASE}/models/{model_id}/objects/{kind}"


def success(
    key: str | None,
    payload: Any,
    schema_url: str,
    paging: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    meta: dict[str, Any] = {"schema": schema_url}
    if paging is not None:
        meta["paging"] = paging
    body: dict[str, Any] = {"meta": meta, "status": {"code": 200, "message": "Success"}}
    if key is not None:
        body[key] = payload
    return json_response(body, status)


def _int_param(request: web.Request, name: str, default: int, minimum: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value '{raw}' for parameter '{name}'") from None
    if value < minimum:
        raise ApiError(400, f"Invalid value '{raw}' for parameter '{name}'")
    return value


def page_params(request: web.Request) -> tuple[int, int]:
    offset = _int_param(request, "offset", 0, 0)
    limit = min(_int_param(request, "limit", MAX_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    return offset, limit


def _page_url(request: web.Request, limit: int, offset: int) -> str:
    query = {k: v for k, v in request.query.items() if k not in ("limit", "offset")}
    query["limit"] = str(limit)
    query["offset"] = str(offset)
    return str(request.url.with_query(query))


def paged(request: web.Request, items: Sequence[T]) -> tuple[Sequence[T], dict[str, Any] | None]:
    """The requested page of ``items`` and its ``meta.paging`` (None for an empty collection)."""
    offset, limit = page_params(request)
    chunk = items[offset : offset + limit]
    if not items:
        return chunk, None
    paging: dict[str, Any] = {
        "currentPageSize": len(chunk),
        "offset": offset,
        "totalSize": len(items),
    }
    if offset + limit < len(items):
        paging["next"] = _page_url(request, limit, offset + limit)
    if offset > 0:
        paging["previous"] = _page_url(request, limit, max(0, offset - limit))
    return chunk, paging


def collection(
    request: web.Request, key: str, items: Sequence[Any], schema_url: str
) -> web.Response:
    """A paged collection response; the key and paging are omitted when it is empty."""
    chunk, paging = paged(request, items)
    if not chunk:
        return success(None, None, schema_url, paging if items else None)
    return success(key, list(chunk), schema_url, paging)
