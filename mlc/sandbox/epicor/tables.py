"""In-memory tables for the small business objects (accounts, vendors, invoices, budgets …).

Rows are stored sparse — only the values that differ from the type's defaults — and read through a
view that falls back to the defaults, so a 533-column ``APInvHed`` costs what it holds, not what it
declares. Natural order is key order under a case-insensitive collation.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mlc.sandbox.epicor.odata import Node, sort_value
from mlc.sandbox.epicor.schema import Edm, RowType

Key = tuple[Any, ...]


class Table:
    def __init__(
        self,
        row_type: RowType,
        key_fields: tuple[str, ...],
        constant_fields: frozenset[str] = frozenset({"Company"}),
    ) -> None:
        self.row_type = row_type
        self.fields: Mapping[str, Edm] = row_type.fields
        self.type_name = row_type.qualified
        self.key_fields = key_fields
        self.constant_fields = constant_fields
        self.revision_field: str | None = "SysRevID" if row_type.has("SysRevID") else None
        self.rows: dict[Key, dict[str, Any]] = {}
        self._order: list[Key] | None = None

    def key_of(self, values: Mapping[str, Any]) -> Key:
        return tuple(values.get(field, self.row_type.defaults[field]) for field in self.key_fields)

    def view(self, stored: dict[str, Any]) -> Mapping[str, Any]:
        return ChainMap(stored, self.row_type.defaults)  # type: ignore[arg-type]

    def _ordered(self) -> list[Key]:
        if self._order is None:
            self._order = sorted(self.rows, key=lambda key: tuple(sort_value(v) for v in key))
        return self._order

    def size(self) -> int:
        return len(self.rows)

    def scan(self, where: Node | None = None) -> Iterator[Mapping[str, Any]]:
        for key in self._ordered():
            yield self.view(self.rows[key])

    def at(self, start: int, stop: int) -> list[Mapping[str, Any]]:
        return [self.view(self.rows[key]) for key in self._ordered()[start:stop]]

    def by_revision(self, where: Node | None) -> Iterator[Mapping[str, Any]] | None:
        return None

    def get(self, key: Key) -> Mapping[str, Any] | None:
        stored = self.rows.get(key)
        return None if stored is None else self.view(stored)

    def stored(self, key: Key) -> dict[str, Any] | None:
        return self.rows.get(key)

    def insert(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """Add a row (columns the type lacks are dropped); the caller has checked the key is new."""
        defaults = self.row_type.defaults
        stored = {
            k: v
            for k, v in values.items()
            if k in defaults and (v != defaults[k] or k in self.key_fields)
        }
        self.rows[self.key_of(values)] = stored
        self._order = None
        return self.view(stored)

    def update(self, key: Key, changes: Mapping[str, Any]) -> Mapping[str, Any]:
        stored = self.rows[key]
        stored.update((k, v) for k, v in changes.items() if k in self.row_type.defaults)
        return self.view(stored)

    def delete(self, key: Key) -> None:
        del self.rows[key]
        self._order = None

    def clear(self) -> None:
        self.rows.clear()
        self._order = None

    def where(self, **equals: Any) -> list[Mapping[str, Any]]:
        """Rows whose fields equal the given values, in key order (parent → children lookups)."""
        return [
            row
            for row in self.scan()
            if all(sort_value(row[k]) == sort_value(v) for k, v in equals.items())
        ]

    def load(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for values in rows:
            self.insert(values)
