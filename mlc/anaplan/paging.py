"""Walking Anaplan's paged collections.

``meta.paging`` carries ``currentPageSize``, ``offset``, ``totalSize`` and, when there is more, a
``next`` URL that echoes ``limit`` and ``offset`` (reference §2 "Envelope"). The page size is
``limit``, at most 5000 (larger values are capped by the server, silently: anaplan-sdk #349).

Decisions: the walk takes only ``offset`` (and ``limit``) from ``next`` and keeps calling its own
URL, so the connection's credentials are never sent to a host named by a response; without
``next`` it still goes on while ``offset + currentPageSize < totalSize`` (a server that truncated
a page). An offset that does not move forward is a protocol error rather than an endless loop
(singer_sdk's paginator guard). An empty collection has no key and no paging: one page, no items.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from mlc.anaplan.models import Meta
from mlc.anaplan.transport import AnaplanTransport

MAX_PAGE_SIZE = 5000

Item = TypeVar("Item")


class PageBody(Protocol):
    @property
    def meta(self) -> Meta: ...


Page = TypeVar("Page", bound=PageBody)


def next_offset(meta: Meta, offset: int, received: int) -> int | None:
    """The offset of the following page, or ``None`` when this was the last one."""
    paging = meta.paging
    if paging is None:
        return None
    if paging.next:
        values = parse_qs(urlsplit(paging.next).query).get("offset")
        if values and values[0].isdigit():
            return int(values[0])
        return offset + max(received, paging.currentPageSize)
    if received and offset + received < paging.totalSize:
        return offset + received
    return None


async def paginate(
    transport: AnaplanTransport,
    url: str,
    page_type: type[Page],
    items_of: Callable[[Page], Sequence[Item]],
    *,
    route: str,
    params: dict[str, str | int] | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> AsyncIterator[Item]:
    """Every item of the collection at ``url``, one page in memory at a time."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    offset = 0
    while True:
        query: dict[str, str | int] = {**(params or {}), "offset": offset, "limit": page_size}
        page = await transport.get(url, page_type, route=route, params=query)
        items = items_of(page)
        for item in items:
            yield item
        following = next_offset(page.meta, offset, len(items))
        if following is None:
            return
        if following <= offset:
            raise transport.protocol_error(
                f"GET {urlsplit(url).path}",
                f"paging went from offset {offset} to {following}; stopping instead of looping",
            )
        offset = following


async def collect(iterator: AsyncIterator[Item]) -> list[Item]:
    return [item async for item in iterator]
