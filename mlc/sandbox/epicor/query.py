"""Running a list query against a row source: filter, order, count, page.

Paging [KB, PRAC]: a list call returns at most ``page_cap`` rows (100 by default, "administrators
can change this limit on the server"); ``$top`` above the cap is cut to the cap, so a client that
asks for more sees every page "short" and stops early — exactly the trap [KB] warns about.
``@odata.nextLink`` is not sent ("Epicor does not return @odata.nextLink" [PRAC]) unless the
emulator's ``next_link`` switch is on.

Ordering: without ``$orderby`` rows come in key order. Ties in a non-unique ``$orderby`` are broken
by key order, so paging is repeatable. On a large set (more than ``max_sort_rows`` rows) an
arbitrary ``$orderby`` is served with a bounded heap of ``$skip + $top`` rows; a page deeper than
``max_sort_rows`` under such an ordering is refused with a 400 naming the limit (a sandbox limit,
documented so a client can page by key instead). Key order and ``SysRevID`` order are always served
without sorting.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mlc.sandbox.epicor.errors import bad_query
from mlc.sandbox.epicor.odata import Node, compile_filter, sort_value
from mlc.sandbox.epicor.options import ListQuery
from mlc.sandbox.epicor.schema import Edm


class RowSource(Protocol):
    @property
    def fields(self) -> Mapping[str, Edm]: ...

    @property
    def type_name(self) -> str: ...

    @property
    def key_fields(self) -> tuple[str, ...]: ...

    @property
    def constant_fields(self) -> frozenset[str]: ...

    @property
    def revision_field(self) -> str | None: ...

    def size(self) -> int: ...

    def scan(self, where: Node | None) -> Iterator[Mapping[str, Any]]: ...

    def at(self, start: int, stop: int) -> list[Mapping[str, Any]] | None: ...

    def by_revision(self, where: Node | None) -> Iterator[Mapping[str, Any]] | None: ...


@dataclass(frozen=True)
class Page:
    rows: list[Mapping[str, Any]]
    count: int | None
    more: bool


class _SortKey:
    __slots__ = ("descending", "seq", "values")

    def __init__(self, values: tuple[Any, ...], descending: tuple[bool, ...], seq: int) -> None:
        self.values = values
        self.descending = descending
        self.seq = seq

    def __lt__(self, other: _SortKey) -> bool:
        for mine, theirs, desc in zip(self.values, other.values, self.descending, strict=True):
            if mine == theirs:
                continue
            if mine is None:
                return not desc
            if theirs is None:
                return desc
            return bool(mine > theirs) if desc else bool(mine < theirs)
        return self.seq < other.seq


def _effective(source: RowSource, orderby: tuple[tuple[str, bool], ...]) -> list[tuple[str, bool]]:
    return [(name, desc) for name, desc in orderby if name not in source.constant_fields]


def is_key_order(source: RowSource, orderby: tuple[tuple[str, bool], ...]) -> bool:
    wanted = _effective(source, orderby)
    keys = [name for name in source.key_fields if name not in source.constant_fields]
    if any(desc for _, desc in wanted):
        return False
    names = [name for name, _ in wanted]
    return names[: len(keys)] == keys[: len(names)]


def _page(
    rows: Iterable[Mapping[str, Any]],
    predicate: Any,
    skip: int,
    limit: int,
    count: bool,
) -> Page:
    matched = 0
    out: list[Mapping[str, Any]] = []
    for row in rows:
        if predicate is not None and not predicate(row):
            continue
        if matched >= skip and len(out) <= limit:
            out.append(row)
        matched += 1
        if not count and len(out) > limit:
            break
    return Page(out[:limit], matched if count else None, len(out) > limit)


def run(source: RowSource, query: ListQuery, page_cap: int, max_sort_rows: int) -> Page:
    limit = page_cap if query.top is None else min(query.top, page_cap)
    predicate = compile_filter(query.filter) if query.filter is not None else None
    wanted = _effective(source, query.orderby)
    if is_key_order(source, query.orderby):
        if predicate is None:
            rows = source.at(query.skip, query.skip + limit + 1)
            if rows is not None:
                total = source.size() if query.count else None
                return Page(rows[:limit], total, len(rows) > limit)
        return _page(source.scan(query.filter), predicate, query.skip, limit, query.count)
    if wanted == [(source.revision_field, False)]:
        ordered = source.by_revision(query.filter)
        if ordered is not None:
            return _page(ordered, predicate, query.skip, limit, query.count)
    window = query.skip + limit + 1
    large = source.size() > max_sort_rows
    if large and window > max_sort_rows:
        raise bad_query(
            f"The sandbox sorts at most {max_sort_rows} rows of a large set by a non-key "
            f"$orderby; $skip={query.skip} goes deeper. Order by the key or SysRevID, or page "
            "with a $filter on the last key seen."
        )
    names = tuple(name for name, _ in wanted)
    descending = tuple(desc for _, desc in wanted)
    matched = 0

    def keyed() -> Iterator[tuple[_SortKey, Mapping[str, Any]]]:
        nonlocal matched
        for seq, row in enumerate(source.scan(query.filter)):
            if predicate is not None and not predicate(row):
                continue
            matched += 1
            yield _SortKey(tuple(sort_value(row[n]) for n in names), descending, seq), row

    if large:
        best = heapq.nsmallest(window, keyed(), key=lambda pair: pair[0])
    else:
        best = sorted(keyed(), key=lambda pair: pair[0])
    rows = [row for _, row in best[query.skip : query.skip + limit + 1]]
    return Page(rows[:limit], matched if query.count else None, len(rows) > limit)


class ListSource:
    """A small list of rows already in key order (a navigation's children)."""

    constant_fields = frozenset({"Company"})

    def __init__(
        self,
        rows: list[Mapping[str, Any]],
        fields: Mapping[str, Edm],
        type_name: str,
        key_fields: tuple[str, ...],
    ) -> None:
        self._rows = rows
        self.fields = fields
        self.type_name = type_name
        self.key_fields = key_fields
        self.revision_field: str | None = "SysRevID" if "SysRevID" in fields else None

    def size(self) -> int:
        return len(self._rows)

    def scan(self, where: Node | None) -> Iterator[Mapping[str, Any]]:
        return iter(self._rows)

    def at(self, start: int, stop: int) -> list[Mapping[str, Any]] | None:
        return self._rows[start:stop]

    def by_revision(self, where: Node | None) -> Iterator[Mapping[str, Any]] | None:
        return None
