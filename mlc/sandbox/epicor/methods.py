"""Business object method calls: ``POST {service}/{Method}`` with the parameters as JSON.

Wire shape [KB, ALE, SNO]: the body holds the method's parameters by name; the answer is
``{"returnObj": …, "parameters": {<ref/out parameters>}}``, ``returnObj`` only for methods with a
return value and ``parameters`` only for methods with ref/out parameters; a method with neither
answers ``{}`` (unverified). Parameter names bind case-insensitively (the v2 layer deserialises
with JSON.NET, whose binding ignores case; [ALE] parses responses case-insensitively for the same
reason). A missing parameter is 400 "Parameter X is not found in the input object".

Tableset rows carry ``RowMod``: ``A`` added, ``U`` updated, ``D`` deleted, empty = unchanged
[KB, WCF-GL].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlc.sandbox.epicor.auth import Principal
from mlc.sandbox.epicor.errors import Detail, EpicorError, api_error
from mlc.sandbox.epicor.schema import RowType
from mlc.sandbox.epicor.values import coerce, to_json


@dataclass(frozen=True)
class Call:
    """One method call: its parameters (looked up case-insensitively) and caller."""

    raw: Mapping[str, Any]
    principal: Principal

    def has(self, name: str) -> bool:
        return any(key.casefold() == name.casefold() for key in self.raw)

    def get(self, name: str) -> Any:
        for key, value in self.raw.items():
            if key.casefold() == name.casefold():
                return value
        raise api_error(400, f"Parameter {name} is not found in the input object")

    def text(self, name: str) -> str:
        value = self.get(name)
        if not isinstance(value, str):
            raise api_error(400, f"Parameter {name} must be a string, got {value!r}")
        return value

    def integer(self, name: str) -> int:
        value = self.get(name)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise api_error(400, f"Parameter {name} must be an integer, got {value!r}")
        return value

    def flag(self, name: str) -> bool:
        value = self.get(name)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise api_error(400, f"Parameter {name} must be a boolean, got {value!r}")
        return value

    def dataset(self, name: str = "ds") -> dict[str, list[dict[str, Any]]]:
        value = self.get(name)
        if not isinstance(value, dict) or not all(
            isinstance(rows, list) and all(isinstance(row, dict) for row in rows)
            for rows in value.values()
        ):
            raise api_error(
                400, f"Parameter {name} must be a tableset: an object of table name → row list"
            )
        return {str(table): [dict(row) for row in rows] for table, rows in value.items()}


Method = Callable[[Call], dict[str, Any]]


def read_row(row_type: RowType, given: Mapping[str, Any], table: str) -> dict[str, Any]:
    """A tableset row from a request, typed; unknown columns are ignored as JSON.NET does."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        edm = row_type.fields.get(name)
        if edm is None:
            continue
        try:
            out[name] = coerce(edm, value)
        except ValueError as exc:
            raise EpicorError(
                400,
                f"Unable to deserialize {table}.{name}: {exc}",
                details=(Detail(str(exc), table, name),),
            ) from None
    return out


def write_row(row_type: RowType, values: Mapping[str, Any], row_mod: str = "") -> dict[str, Any]:
    """A full tableset row for a response (every column, defaults filled in)."""
    out = {name: to_json(values.get(name, row_type.defaults[name])) for name in row_type.fields}
    if "RowMod" in out:
        out["RowMod"] = row_mod
    return out


def row_mod(row: Mapping[str, Any]) -> str:
    value = row.get("RowMod", "")
    return value if isinstance(value, str) else ""
