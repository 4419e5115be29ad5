"""How to walk an Epicor list: offset (``$top``/``$skip``) or keyset (``Key gt last``) pages.

Facts [reference/epicor.md §3, §6]: list calls are capped at 100 rows by default (administrators
can change the cap); Epicor does not return ``@odata.nextLink``; a ``$top`` larger than the cap
makes every page look short, so the page size must not exceed the cap. Paging therefore asks for
``$top = page_size`` ordered by the key and stops at the first short page.

Guards, because a silent short read of a finance table is the worst failure a poller can have:

- a page with more rows than ``$top`` is refused (the server ignores ``$top``: the short-page rule
  would be meaningless);
- the first request asks ``$count=true``; if paging ends having seen fewer rows than the server
  counted, the server's cap is below ``page_size`` (or rows were deleted meanwhile) and the pull
  fails instead of ending early;
- a short page carrying ``@odata.nextLink`` means the server paged on its own at a smaller size:
  refused with the same advice;
- keyset paging refuses a page whose last key equals the previous page's (a loop).

Keyset paging (``$filter=(…) and (Key gt last)``, ``$orderby=Key``) does not slow down with depth
the way ``$skip`` can on large sets; composite keys use the lexicographic expansion of
:func:`mlc.epicor.query.after_key`. It also behaves better when the set changes during the pull:
offset pages shift when rows are inserted or deleted ahead of the cursor (a row can be skipped or
read twice), while a keyset cursor never repeats a row and only misses rows inserted behind it,
which the next delta pull picks up. The paging key must be unique (the entity key, or a unique
marker such as ``SysRevID``).

Pages decode straight into ``PageOf[RowType]`` with one cached ``msgspec`` decoder per row type:
no intermediate dicts on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Generic, TypeVar

import msgspec

from mlc.epicor.errors import EpicorProtocolError
from mlc.epicor.query import ODataQuery, Value, after_key, all_of

T = TypeVar("T")


class PageOf(msgspec.Struct, Generic[T]):
    """One OData list response: ``{"value": [...], "@odata.count": n, "@odata.nextLink": …}``."""

    value: list[T]
    count: int | None = msgspec.field(default=None, name="@odata.count")
    next_link: str | None = msgspec.field(default=None, name="@odata.nextLink")


_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def page_decoder(row_type: type[T]) -> msgspec.json.Decoder[PageOf[T]]:
    """The decoder of ``PageOf[row_type]``, built once per row type."""
    decoder = _DECODERS.get(row_type)
    if decoder is None:
        decoder = _DECODERS[row_type] = msgspec.json.Decoder(PageOf[row_type])  # type: ignore[valid-type]
    return decoder


_ROW_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def row_decoder(row_type: type[T]) -> msgspec.json.Decoder[T]:
    """The decoder of one bare ``row_type`` row (an entity read by key), built once."""
    decoder = _ROW_DECODERS.get(row_type)
    if decoder is None:
        decoder = _ROW_DECODERS[row_type] = msgspec.json.Decoder(row_type)
    return decoder


class PagingMode(Enum):
    OFFSET = "offset"
    KEYSET = "keyset"


@dataclass
class Paginator:
    """The page-by-page state of one pull; :meth:`first`, then :meth:`advance` after each page.

    ``key`` names the key columns (``$orderby`` for both modes, the keyset for ``KEYSET``);
    ``key_attrs`` are the matching attribute names on the decoded rows.
    """

    query: ODataQuery
    page_size: int
    key: tuple[str, ...]
    key_attrs: tuple[str, ...]
    mode: PagingMode = PagingMode.OFFSET
    count_check: bool = True
    call: str = ""
    #: Rows and pages received so far; the server's count from the first page, when asked.
    seen: int = field(default=0, init=False)
    pages: int = field(default=0, init=False)
    expected_total: int | None = field(default=None, init=False)
    finished: bool = field(default=False, init=False)
    _last_key: tuple[Value, ...] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {self.page_size}")
        if not self.key:
            raise ValueError("paging needs the key columns to order by")

    def first(self) -> ODataQuery:
        return self._next_query(count=self.count_check)

    def advance(self, page: PageOf[Any]) -> ODataQuery | None:
        """Check ``page``; the query of the next page, or ``None`` when this one was the last."""
        received = len(page.value)
        if received > self.page_size:
            raise self._error(
                f"page {self.pages + 1} has {received} rows, more than the $top={self.page_size} "
                "asked; the server ignores $top, so paging cannot tell the last page"
            )
        if self.pages == 0 and page.count is not None:
            self.expected_total = page.count
        self.pages += 1
        self.seen += received
        if received < self.page_size:
            self._finish(page)
            return None
        if self.mode is PagingMode.KEYSET:
            last = tuple(getattr(page.value[-1], attr) for attr in self.key_attrs)
            if last == self._last_key:
                raise self._error(f"keyset paging did not advance past key {last!r}")
            self._last_key = last
        return self._next_query(count=False)

    def _finish(self, page: PageOf[Any]) -> None:
        self.finished = True
        if page.next_link:
            raise self._error(
                f"a short page of {len(page.value)} rows came with @odata.nextLink: the server "
                f"pages at fewer rows than page_size={self.page_size}; lower page_size to its cap"
            )
        if self.expected_total is not None and self.seen < self.expected_total:
            raise self._error(
                f"paging ended after {self.seen} rows but the server counted "
                f"{self.expected_total}: its page cap is probably below page_size="
                f"{self.page_size} (lower page_size), or rows were deleted during the pull"
            )

    def _next_query(self, *, count: bool) -> ODataQuery:
        base = self.query
        if self.mode is PagingMode.OFFSET:
            return replace(
                base, orderby=self.key, top=self.page_size, skip=self.seen or None, count=count
            )
        after = after_key(self.key, self._last_key) if self._last_key is not None else None
        return replace(
            base,
            filter=all_of(base.filter, after),
            orderby=self.key,
            top=self.page_size,
            skip=None,
            count=count,
        )

    def _error(self, message: str) -> EpicorProtocolError:
        return EpicorProtocolError(f"{self.call}: {message}", call=self.call)


def key_attributes(row_type: type[msgspec.Struct], key: Sequence[str]) -> tuple[str, ...]:
    """Attribute names on ``row_type`` for the wire column names ``key``."""
    by_wire = {f.encode_name: f.name for f in msgspec.structs.fields(row_type)}
    missing = [name for name in key if name not in by_wire]
    if missing:
        raise ValueError(f"{row_type.__name__} has no columns {missing} to page by")
    return tuple(by_wire[name] for name in key)
