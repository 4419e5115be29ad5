"""Response bodies: OData JSON (``@odata.context``, ``value``), rows projected to ``$select``.

``@odata.context`` follows the OData v4 JSON format: ``{service root}$metadata#{EntitySet}``,
``…#{EntitySet}({selected,fields})`` under ``$select`` and ``…#{EntitySet}/$entity`` for a single
entity. Epicor's exact form is unverified (reference §3); clients read ``value`` [KD, PYP, ALE].
Decimals are JSON numbers with their scale (``12.50``), dates as in :mod:`values`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web

from mlc.sandbox.epicor.values import format_datetime

_ENCODER = msgspec.json.Encoder(decimal_format="number")
ODATA_JSON = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"


def project(
    row: Mapping[str, Any], fields: Sequence[str], decimals_as_text: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = row[name]
        if isinstance(value, datetime):
            value = format_datetime(value)
        elif decimals_as_text and isinstance(value, Decimal):
            value = str(value)
        out[name] = value
    return out


def odata_response(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=_ENCODER.encode(body),
        status=status,
        headers={"Content-Type": ODATA_JSON, "OData-Version": "4.0"},
    )


def json_response(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=_ENCODER.encode(body), status=status, content_type="application/json")


def context(root: str, name: str, select: Sequence[str] | None = None, single: bool = False) -> str:
    suffix = f"({','.join(select)})" if select else ""
    return f"{root}$metadata#{name}{suffix}{'/$entity' if single else ''}"
