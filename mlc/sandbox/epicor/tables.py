"""In-memory tables for the small business objects (accounts, vendors, invoices, budgets …).

Rows are stored sparse — only the values that differ from the type's defaults — and read through a
view that falls back to the defaults, so a 533-column ``APInvHed`` costs what it holds, not what it
declares. Natural order is key order under a case-insensitive collation.

Parent → children lookups (:meth:`Table.where`) go through hash indexes built on first use for
each set of fields asked about and kept up to date by every write, so a lookup costs the rows it
returns rather than the table: budget totals and journal lines are looked up once per row written.
An index is dropped (and rebuilt on the next lookup) when a write moves a row between its buckets,
which keeps each bucket in the table's insertion order and so ``where`` in exactly the order a
full scan would give. :meth:`Table.savepoint` opens an undo log for all-or-nothing calls
(:mod:`mlc.sandbox.epicor.savepoint`).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from mlc.sandbox.epicor.odata import Node, sort_value
from mlc.sandbox.epicor.savepoint import Savepoint
from mlc.sandbox.epicor.schema import Edm, RowType

Key = tuple[Any, ...]
#: Index of one set of fields: their collated values → the keys of the rows holding them, in
#: insertion order.
_Index = dict[tuple[Any, ...], dict[Key, None]]


def _order_key(key: Key) -> tuple[Any, ...]:
    return tuple(sort_value(v) for v in key)


class RowView(ChainMap[str, Any]):
    """``ChainMap(stored, defaults)`` with the two-level lookup done directly: every response
    reads its rows column by column, and ``ChainMap``'s generic lookup walks its maps in Python.
    Any other shape (``new_child``, ``parents``) behaves as a plain ``ChainMap``."""

    def __getitem__(self, name: str) -> Any:
        if len(self.maps) != 2:
            return super().__getitem__(name)
        stored, defaults = self.maps
        return stored[name] if name in stored else defaults[name]

    def get(self, name: str, default: Any = None) -> Any:
        if len(self.maps) != 2:
            return super().get(name, default)
        stored, defaults = self.maps
        return stored[name] if name in stored else defaults.get(name, default)

    def __contains__(self, name: object) -> bool:
        if len(self.maps) != 2:
            return super().__contains__(name)
        stored, defaults = self.maps
        return name in stored or name in defaults


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
        self._indexes: dict[tuple[str, ...], _Index] = {}
        self._collations: dict[Key, tuple[Any, ...]] = {}
        self._savepoint: Savepoint | None = None

    def key_of(self, values: Mapping[str, Any]) -> Key:
        return tuple(values.get(field, self.row_type.defaults[field]) for field in self.key_fields)

    def view(self, stored: dict[str, Any]) -> Mapping[str, Any]:
        return RowView(stored, self.row_type.defaults)  # type: ignore[arg-type]

    def _ordered(self) -> list[Key]:
        if self._order is None:
            self._order = sorted(self.rows, key=_order_key)
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
        key = self.key_of(values)
        if self._savepoint is not None:
            self._savepoint.reshaping(key)
        replaced = self.rows.get(key)
        self.rows[key] = stored
        self._order = None
        if self._indexes:
            if replaced is None:
                for fields, index in self._indexes.items():
                    index.setdefault(self._collated(stored, fields), {})[key] = None
            else:
                self._reindex(replaced, stored)
        return self.view(stored)

    def update(self, key: Key, changes: Mapping[str, Any]) -> Mapping[str, Any]:
        stored = self.rows[key]
        if self._savepoint is not None:
            self._savepoint.changing(key)
        moved = [fields for fields in self._indexes if any(name in changes for name in fields)]
        before = [self._collated(stored, fields) for fields in moved]
        stored.update((k, v) for k, v in changes.items() if k in self.row_type.defaults)
        for fields, value in zip(moved, before, strict=True):
            if self._collated(stored, fields) != value:
                del self._indexes[fields]
        return self.view(stored)

    def delete(self, key: Key) -> None:
        if self._savepoint is not None:
            self._savepoint.reshaping(key)
        stored = self.rows.pop(key)
        self._order = None
        self._collations.pop(key, None)
        for fields, index in self._indexes.items():
            value = self._collated(stored, fields)
            bucket = index[value]
            del bucket[key]
            if not bucket:
                del index[value]

    def clear(self) -> None:
        if self._savepoint is not None:
            self._savepoint.clearing()
        self.rows.clear()
        self._order = None
        self._indexes.clear()
        self._collations.clear()

    def where(self, **equals: Any) -> list[Mapping[str, Any]]:
        """Rows whose fields equal the given values, in key order (parent → children lookups)."""
        if not equals:
            return list(self.scan())
        fields = tuple(sorted(equals))
        index = self._indexes.get(fields)
        if index is None:
            index = self._build_index(fields)
        bucket = index.get(tuple(sort_value(equals[name]) for name in fields))
        if not bucket:
            return []
        keys = sorted(bucket, key=self._collation) if len(bucket) > 1 else list(bucket)
        return [self.view(self.rows[key]) for key in keys]

    def load(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for values in rows:
            self.insert(values)

    @contextmanager
    def savepoint(self) -> Iterator[Savepoint]:
        """Record what the rows were when the block began; :meth:`roll_back` returns to it."""
        if self._savepoint is not None:
            raise RuntimeError(f"{self.type_name}: a savepoint is already open")
        self._savepoint = Savepoint(self.rows)
        try:
            yield self._savepoint
        finally:
            self._savepoint = None

    def roll_back(self, savepoint: Savepoint) -> None:
        """Every row back to what the open ``savepoint`` recorded, in the order it had then."""
        if savepoint is not self._savepoint:
            raise RuntimeError(f"{self.type_name}: roll back to a savepoint that is not open")
        rows = savepoint.snapshot()
        self.rows.clear()
        self.rows.update(rows)
        self._order = None
        self._indexes.clear()
        self._collations.clear()
        savepoint.restart()

    # -- indexes ---------------------------------------------------------------------------

    def _collated(self, stored: Mapping[str, Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
        defaults = self.row_type.defaults
        return tuple(
            sort_value(stored[name] if name in stored else defaults[name]) for name in fields
        )

    def _collation(self, key: Key) -> tuple[Any, ...]:
        """``key``'s sort form, kept for the keys ``where`` has returned."""
        collation = self._collations.get(key)
        if collation is None:
            collation = self._collations[key] = _order_key(key)
        return collation

    def _build_index(self, fields: tuple[str, ...]) -> _Index:
        index: _Index = {}
        for key, stored in self.rows.items():
            index.setdefault(self._collated(stored, fields), {})[key] = None
        self._indexes[fields] = index
        return index

    def _reindex(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        """Drop the indexes in which a row changed bucket: moving it would break the bucket's
        insertion order, so the index is rebuilt from the table on its next use."""
        for fields in list(self._indexes):
            if self._collated(before, fields) != self._collated(after, fields):
                del self._indexes[fields]
