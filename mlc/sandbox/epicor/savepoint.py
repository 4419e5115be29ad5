"""Savepoints: what a table held when a call began, so an all-or-nothing call can undo itself.

``UpdateExt`` with ``continueProcessingOnError`` false, ``Update``, and ``UpdateExt``'s
``rollbackParentOnChildError`` put rows back as they were when the call began. Copying whole
tables per call made every budget write cost the size of the tables; a savepoint instead keeps an
undo log: the first prior value of each row the call touches (``None`` for a row the call added)
and, once the call first adds or removes a row, the order the keys had (natural order breaks ties
between keys that differ only in case by that order). Untouched rows are by definition still as
they were, so :meth:`Savepoint.snapshot` rebuilds the whole former table on demand — only on the
error path.

Stored values are scalars (str, int, bool, Decimal, datetime, None), so a shallow copy of a row
is a faithful copy of it.
"""

from __future__ import annotations

from typing import Any

Key = tuple[Any, ...]


class Savepoint:
    def __init__(self, rows: dict[Key, dict[str, Any]]) -> None:
        self._rows = rows
        self._before: dict[Key, dict[str, Any] | None] = {}
        self._order: list[Key] | None = None

    def restart(self) -> None:
        """The table is back at the savepoint: nothing is touched any more."""
        self._before.clear()
        self._order = None

    def changing(self, key: Key) -> None:
        """``key``'s stored row is about to change in place."""
        if key not in self._before:
            stored = self._rows.get(key)
            self._before[key] = None if stored is None else dict(stored)

    def reshaping(self, key: Key) -> None:
        """``key`` is about to be added, replaced or removed."""
        if self._order is None:
            self._order = list(self._rows)
        self.changing(key)

    def clearing(self) -> None:
        """Every row is about to go."""
        if self._order is None:
            self._order = list(self._rows)
        for key in self._rows:
            self.changing(key)

    def snapshot(self) -> dict[Key, dict[str, Any]]:
        """The table's rows as they were when the savepoint began, in their order then."""
        order = self._rows if self._order is None else self._order
        before = self._before
        rows = self._rows
        out: dict[Key, dict[str, Any]] = {}
        for key in order:
            if key in before:
                old = before[key]
                if old is not None:
                    out[key] = old
            else:
                out[key] = rows[key]
        return out
