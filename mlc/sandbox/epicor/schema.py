"""Row types of the emulated business objects: every field name, in Epicor's order, with its type.

The field lists in ``schema.json`` are the OData entity rows of a live Kinetic SaaS Swagger as
captured by github.com/Snolandia/EpicorRestAPI_MethodsSchemas (reference source [SNO]; the exact
file and commit are in the JSON's ``_source``). Serving the full rows matters: a client that
forgets ``$select`` gets Epicor's heavy rows (533 columns on ``APInvHed``), and a ``$select`` or
``$filter`` naming a field the real row lacks fails here as it does there.

That generator typed decimals as ``int`` and dates as ``str``; the Edm types were reconstructed
from field names when the JSON was generated (names ending in ``Amt``, ``Cost``, ``Qty``,
``Balance`` … are ``Edm.Decimal``; names ending in ``Date`` and ``EffFrom``/``EffTo`` are
``Edm.DateTimeOffset``; ``SysRevID`` is ``Edm.Int64`` because it is a SQL rowversion). A misfiled
rarely used column changes only how its zero default is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any


class Edm(StrEnum):
    STRING = "Edm.String"
    BOOLEAN = "Edm.Boolean"
    INT32 = "Edm.Int32"
    INT64 = "Edm.Int64"
    DECIMAL = "Edm.Decimal"
    DATETIME = "Edm.DateTimeOffset"
    GUID = "Edm.Guid"


NUMERIC = frozenset({Edm.INT32, Edm.INT64, Edm.DECIMAL})

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

_DEFAULTS: dict[Edm, Any] = {
    Edm.STRING: "",
    Edm.BOOLEAN: False,
    Edm.INT32: 0,
    Edm.INT64: 0,
    Edm.DECIMAL: Decimal(0),
    Edm.DATETIME: None,
    Edm.GUID: EMPTY_GUID,
}


@dataclass(frozen=True, eq=False)
class RowType:
    """One Epicor tableset row type, e.g. ``GLPeriodBal`` (``Erp.Tablesets.GLPeriodBalRow``)."""

    name: str
    fields: MappingProxyType[str, Edm]
    defaults: MappingProxyType[str, Any]

    @property
    def qualified(self) -> str:
        return f"Erp.Tablesets.{self.name}Row"

    def has(self, field: str) -> bool:
        return field in self.fields


def make_row_type(name: str, fields: list[tuple[str, Edm]]) -> RowType:
    ordered = dict(fields)
    return RowType(
        name=name,
        fields=MappingProxyType(ordered),
        defaults=MappingProxyType({field: _DEFAULTS[edm] for field, edm in ordered.items()}),
    )


@cache
def _load() -> dict[str, list[list[str]]]:
    text = resources.files("mlc.sandbox.epicor").joinpath("schema.json").read_text("utf-8")
    types: dict[str, list[list[str]]] = json.loads(text)["types"]
    return types


@cache
def row_type(name: str) -> RowType:
    """The row type ``name`` as captured from Epicor (``KeyError`` if the emulator lacks it)."""
    fields = _load()[name]
    return make_row_type(name, [(field, Edm(edm)) for field, edm in fields])
