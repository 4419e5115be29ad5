"""OData writes: ``POST {Set}`` creates (201 + row), ``PATCH {Set}(keys)`` updates (204),
``DELETE {Set}(keys)`` deletes (204) [SNO verb → method map].

A body that is not a JSON object, names a property the row type lacks or carries a value of the
wrong type is 400 "Unable to deserialize entity" [SNO]. Adding an existing key is 409
``DuplicateRecordException`` [KB]; updating or deleting a missing row is 404. A ``PATCH`` that
carries a ``SysRevID`` other than the stored one fails as Epicor's optimistic concurrency does
("Row has been modified by another user and couldn't be updated.", 400); leaving ``SysRevID`` out
skips the check. Key fields cannot change in a ``PATCH``. Every write bumps the row's ``SysRevID``
(and ``ChangeDate`` where the type has one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlc.sandbox.common.counters import RequestCounters
from mlc.sandbox.epicor.budgets import Budgets
from mlc.sandbox.epicor.entities import EntitySet
from mlc.sandbox.epicor.errors import (
    DUPLICATE_EXCEPTION,
    ODATA_EXCEPTION,
    Detail,
    EpicorError,
    api_error,
    business,
    not_found,
)
from mlc.sandbox.epicor.state import EpicorState
from mlc.sandbox.epicor.tables import Key
from mlc.sandbox.epicor.values import coerce

_BUDGET_SETS = ("AccountBudgets", "GLBudgetDtls")


def read_entity(entity: EntitySet, body: Any) -> dict[str, Any]:
    """A request body as typed field values of ``entity``'s row."""
    row = entity.row_type
    if not isinstance(body, dict):
        raise EpicorError(
            400,
            "Unable to deserialize entity.",
            ODATA_EXCEPTION,
            (Detail("The request body must be a JSON object.", row.name),),
        )
    values: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith("@") or name.startswith("odata."):
            continue
        edm = row.fields.get(name)
        if edm is None:
            raise EpicorError(
                400,
                "Unable to deserialize entity.",
                ODATA_EXCEPTION,
                (
                    Detail(
                        f"The property '{name}' does not exist on type '{row.qualified}'. Make "
                        "sure to only use property names that are defined by the type.",
                        row.name,
                        name,
                    ),
                ),
            )
        try:
            values[name] = coerce(edm, value)
        except ValueError as exc:
            raise EpicorError(
                400,
                "Unable to deserialize entity.",
                ODATA_EXCEPTION,
                (Detail(str(exc), row.name, name),),
            ) from None
    return values


class Writers:
    def __init__(self, state: EpicorState, budgets: Budgets, counters: RequestCounters) -> None:
        self.state = state
        self.budgets = budgets
        self.counters = counters

    def _allowed(self, entity: EntitySet) -> None:
        if entity.method_only:
            raise api_error(
                405,
                f"The sandbox maintains {entity.name} through the {entity.service} methods "
                "(GetNew…, Update); OData writes to it are not emulated.",
            )
        if entity.refuse_writes is not None:
            raise business(entity.refuse_writes, entity.row)

    def create(self, entity: EntitySet, values: dict[str, Any]) -> Mapping[str, Any]:
        self._allowed(entity)
        values.setdefault("Company", self.state.options.company)
        if entity.name in _BUDGET_SETS:
            self.counters.bump("budget_writes")
            if entity.name == "AccountBudgets":
                return self.budgets.create_header(values)
            return self.budgets.create_detail(values)
        table = self.state.table(entity.name)
        key = table.key_of(values)
        if table.stored(key) is not None:
            message = f"{entity.row} record already exists."
            raise EpicorError(409, message, DUPLICATE_EXCEPTION, (Detail(message, entity.row),))
        values["SysRowID"] = values.get("SysRowID") or self.state.new_row_id()
        return table.insert(self.state.stamp(table, values))

    def _current(self, entity: EntitySet, key: Key) -> Mapping[str, Any]:
        table = self.state.table(entity.name)
        row = table.get(key)
        if row is None:
            raise not_found("Record not found.", entity.row)
        return row

    def update(self, entity: EntitySet, key: Key, changes: dict[str, Any]) -> None:
        self._allowed(entity)
        current = self._current(entity, key)
        for name, value in zip(entity.keys, key, strict=True):
            if name in changes and changes[name] != value:
                raise business(f"Key field {name} cannot be changed.", entity.row, name)
        revision = changes.pop("SysRevID", None)
        if revision not in (None, 0) and revision != current["SysRevID"]:
            raise business(
                "Row has been modified by another user and couldn't be updated.", entity.row
            )
        if entity.name in _BUDGET_SETS:
            self.counters.bump("budget_writes")
            if entity.name == "AccountBudgets":
                self.budgets.update_header(key, changes)
            else:
                self.budgets.update_detail(key, changes)
            return
        table = self.state.table(entity.name)
        table.update(key, self.state.stamp(table, changes))

    def delete(self, entity: EntitySet, key: Key) -> None:
        self._allowed(entity)
        self._current(entity, key)
        if entity.name in _BUDGET_SETS:
            self.counters.bump("budget_writes")
            if entity.name == "AccountBudgets":
                self.budgets.delete_header(key)
            else:
                self.budgets.delete_detail(key)
            return
        self.state.table(entity.name).delete(key)
