"""The Epicor Kinetic REST v2 client: entity sets, BAQs, methods, over one HTTP connection.

URLs [reference/epicor.md §1]: ``{base_url}/api/v2/odata/{company}/{Service}/{EntitySet}``,
where ``base_url`` is the server plus the instance (``https://erp.example.com/ERP11``);
``…/{Service}/{Method}`` for method calls; ``…/BaqSvc/{BaqID}/Data`` for BAQs. The company is in
every path; a configured plant goes in the ``CallSettings`` header.

Requests, headers and error translation live in :mod:`mlc.epicor.transport`; how pages are
walked in :mod:`mlc.epicor.paging`; what is read (entity sets, BAQs, row types) in
:mod:`mlc.epicor.entities`, :mod:`mlc.epicor.baq` and :mod:`mlc.epicor.rows`. Writes that are not
idempotent raise :class:`mlc.http.OutcomeUnknown` when their outcome cannot be known: never
retried blindly, the caller looks first (:mod:`mlc.epicor.lookups`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import msgspec

from mlc.epicor.baq import Baq
from mlc.epicor.entities import EntitySet
from mlc.epicor.errors import EpicorNotFound, EpicorProtocolError
from mlc.epicor.paging import Paginator, PagingMode, key_attributes, page_decoder, row_decoder
from mlc.epicor.query import (
    ODataQuery,
    Value,
    all_of,
    check_name,
    compare,
    entity_key,
    path_segment,
)
from mlc.epicor.rows import Row
from mlc.epicor.transport import EpicorSettings, EpicorTransport
from mlc.errors import UsageError
from mlc.http import Authenticator, HttpConnection, HttpResponse

log = logging.getLogger("mlc.epicor")

R = TypeVar("R", bound=Row)
RetT = TypeVar("RetT")
ParT = TypeVar("ParT")

_SERVICE = re.compile(r"(Erp|Ice)\.(BO|Lib|Proc|Rpt)\.[A-Za-z0-9_]+\Z")

__all__ = ["EpicorClient", "EpicorSettings", "MethodResult"]


class MethodResult(msgspec.Struct, Generic[RetT, ParT]):
    """A method call's answer: ``{"returnObj": …, "parameters": {<out and ref params>}}``."""

    returnObj: RetT | None = None
    parameters: ParT | None = None


_METHOD_DECODERS: dict[tuple[Any, Any], msgspec.json.Decoder[Any]] = {}


def _method_decoder(returns: Any, parameters: Any) -> msgspec.json.Decoder[Any]:
    key = (returns, parameters)
    decoder = _METHOD_DECODERS.get(key)
    if decoder is None:
        decoder = msgspec.json.Decoder(MethodResult[returns, parameters])
        _METHOD_DECODERS[key] = decoder
    return decoder


class EpicorClient:
    """Reads and writes one Epicor company over one :class:`mlc.http.HttpConnection`."""

    def __init__(self, http: HttpConnection, auth: Authenticator, settings: EpicorSettings) -> None:
        self._transport = EpicorTransport(http, auth, settings)
        self.settings = settings

    @property
    def connection(self) -> str:
        return self.settings.connection

    # ---- entity sets ---------------------------------------------------------------------

    async def pages(
        self,
        entity: EntitySet[R],
        *,
        where: str | None = None,
        equal: Mapping[str, Value] | None = None,
        changed_since: Value = None,
        paging: PagingMode = PagingMode.OFFSET,
        order_by: Sequence[str] | None = None,
        page_size: int | None = None,
        count_check: bool = True,
    ) -> AsyncGenerator[list[R], None]:
        """Every row of ``entity`` matching the filters, a page at a time, in paging-key order.

        :param where: an OData ``$filter`` expression (build it with :mod:`mlc.epicor.query`).
        :param equal: columns pinned to one value (``{"BookID": "MAIN"}``): added to the filter
            and left out of the paging key, which keeps keyset predicates short and seekable.
        :param changed_since: the delta watermark, compared with the set's marker
            (:mod:`mlc.epicor.delta`).
        :param paging: ``OFFSET`` (``$top``/``$skip``) or ``KEYSET`` (``Key gt last``); see
            :mod:`mlc.epicor.paging`.
        :param order_by: the paging key, when not the entity key (``("SysRevID",)``); it must
            be unique, or keyset paging skips rows that tie.
        """
        if entity.parent_filtered and paging is PagingMode.KEYSET:
            raise UsageError(
                f"{entity.path} is a child set: Epicor may apply $filter to its parent's rows, "
                "so it cannot be paged by key; use offset paging"
            )
        delta = entity.delta_filter(changed_since) if changed_since is not None else None
        query = ODataQuery(select=entity.select, filter=all_of(where, *_equalities(equal), delta))
        recheck = entity.delta if entity.parent_filtered and changed_since is not None else None
        async for page in self._paged(
            f"{self._transport.root}/{entity.path}",
            f"{self._transport.route_root}/{entity.path}",
            query,
            entity.row_type,
            _paging_key(entity.key, entity.scope, equal, order_by),
            paging,
            page_size,
            count_check,
        ):
            if recheck is not None:
                page = [row for row in page if recheck.accepts(row, changed_since)]
                if not page:
                    continue
            yield page

    async def rows(
        self,
        entity: EntitySet[R],
        *,
        where: str | None = None,
        equal: Mapping[str, Value] | None = None,
        changed_since: Value = None,
        paging: PagingMode = PagingMode.OFFSET,
        order_by: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> AsyncGenerator[R, None]:
        """Like :meth:`pages`, one row at a time."""
        async for page in self.pages(
            entity,
            where=where,
            equal=equal,
            changed_since=changed_since,
            paging=paging,
            order_by=order_by,
            page_size=page_size,
        ):
            for row in page:
                yield row

    async def query(self, entity: EntitySet[R], where: str) -> list[R]:
        """The rows matching ``where``, in one request: for look-ups that expect a handful.

        More matches than one page holds is an error rather than a silent partial answer: a
        look-before-retry that sees only part of the matches would lie.
        """
        size = self.settings.page_size
        query = ODataQuery(
            select=entity.select, filter=where, orderby=entity.key, top=size, count=True
        )
        path = f"{self._transport.root}/{entity.path}"
        page = await self._get_page(
            path, f"{self._transport.route_root}/{entity.path}", query, entity.row_type
        )
        total = page.count if page.count is not None else len(page.value)
        if total > len(page.value) or len(page.value) > size:
            call = self._transport.call_name("GET", path)
            raise EpicorProtocolError(
                f"{call}: $filter={where} matched {total} rows, more than one page of {size}; "
                "page through them with rows()",
                call=call,
            )
        rows: list[R] = page.value
        return rows

    async def get(self, entity: EntitySet[R], key: Sequence[Value]) -> R:
        """The row with ``key`` (positional, schema key order); :class:`EpicorNotFound` if none."""
        path = self._keyed_path(entity, key)
        query = ODataQuery(select=entity.select)
        response = await self._transport.send(
            "GET", path, f"{self._transport.route_root}/{entity.path}({{key}})", query=query
        )
        return self._decode_row(response, "GET", path, entity.row_type)

    async def find(self, entity: EntitySet[R], key: Sequence[Value]) -> R | None:
        """Like :meth:`get`, ``None`` when the row does not exist."""
        try:
            return await self.get(entity, key)
        except EpicorNotFound:
            return None

    async def create(
        self, entity: EntitySet[R], fields: Mapping[str, Any], *, idempotent: bool = False
    ) -> R:
        """``POST {Set}`` (UpdateExt create) → 201 and the new row.

        Not idempotent: an unknown outcome raises :class:`mlc.http.OutcomeUnknown`; look the row
        up with :meth:`find` before creating it again.
        """
        path = f"{self._transport.root}/{entity.path}"
        response = await self._transport.send(
            "POST",
            path,
            f"{self._transport.route_root}/{entity.path}",
            json=dict(fields),
            idempotent=idempotent,
        )
        return self._decode_row(response, "POST", path, entity.row_type)

    async def update(
        self,
        entity: EntitySet[R],
        key: Sequence[Value],
        changes: Mapping[str, Any],
        *,
        idempotent: bool = False,
    ) -> None:
        """``PATCH {Set}(keys)`` (UpdateExt) → 204.

        Setting absolute values is repeatable in itself, but Epicor runs business logic and BPMs
        on every update, so it is treated as not idempotent unless the caller says otherwise.
        """
        for name in changes:
            check_name(name)
        await self._transport.send(
            "PATCH",
            self._keyed_path(entity, key),
            f"{self._transport.route_root}/{entity.path}({{key}})",
            json=dict(changes),
            idempotent=idempotent,
        )

    # ---- BAQs ----------------------------------------------------------------------------

    async def baq_pages(
        self,
        baq: Baq[R],
        *,
        params: Sequence[tuple[str, Value]] = (),
        where: str | None = None,
        equal: Mapping[str, Value] | None = None,
        changed_since: Value = None,
        paging: PagingMode = PagingMode.KEYSET,
        order_by: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> AsyncGenerator[list[R], None]:
        """Rows of a Business Activity Query (``BaqSvc/{id}/Data``), a page at a time.

        ``params`` are the BAQ's own parameters (filtered in SQL, cheaper than ``$filter`` on
        large pulls [reference/epicor.md §5]); list parameters repeat the name. Paging is by key
        by default: ``$skip`` is not documented for BAQs. Other arguments as in :meth:`pages`.
        """
        delta = baq.delta_filter(changed_since) if changed_since is not None else None
        query = ODataQuery(
            select=baq.select,
            filter=all_of(where, *_equalities(equal), delta),
            params=tuple(params),
        )
        async for page in self._paged(
            f"{self._transport.root}/BaqSvc/{path_segment(baq.baq_id)}/Data",
            f"{self._transport.route_root}/BaqSvc/{baq.baq_id}/Data",
            query,
            baq.row_type,
            _paging_key(baq.key, baq.scope, equal, order_by),
            paging,
            page_size,
            baq.count_check,
        ):
            yield page

    async def baq_rows(
        self,
        baq: Baq[R],
        *,
        params: Sequence[tuple[str, Value]] = (),
        where: str | None = None,
        equal: Mapping[str, Value] | None = None,
        changed_since: Value = None,
        paging: PagingMode = PagingMode.KEYSET,
        order_by: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> AsyncGenerator[R, None]:
        """Like :meth:`baq_pages`, one row at a time."""
        async for page in self.baq_pages(
            baq,
            params=params,
            where=where,
            equal=equal,
            changed_since=changed_since,
            paging=paging,
            order_by=order_by,
            page_size=page_size,
        ):
            for row in page:
                yield row

    # ---- methods -------------------------------------------------------------------------

    async def call(
        self,
        service: str,
        method: str,
        parameters: Mapping[str, Any] | msgspec.Struct,
        *,
        idempotent: bool,
        returns: Any = Any,
        out: Any = Any,
    ) -> MethodResult[Any, Any]:
        """``POST {Service}/{Method}`` with the method's parameters as the JSON body.

        :param idempotent: required, so every caller decides: ``True`` for reads exposed as
            methods (``GetByID``, ``GetList``), ``False`` for anything that changes data
            (``Update``, ``PostGroupJournals``) — those raise :class:`mlc.http.OutcomeUnknown`
            instead of being retried when their outcome is unknown.
        :param returns: the type of ``returnObj`` (default: decoded JSON).
        :param out: the type of ``parameters`` (the method's out and ref parameters).
        """
        if not _SERVICE.match(service):
            raise UsageError(f"Epicor service name {service!r} is not like Erp.BO.GLAccountSvc")
        check_name(method, "method")
        path = f"{self._transport.root}/{service}/{method}"
        response = await self._transport.send(
            "POST",
            path,
            f"{self._transport.route_root}/{service}/{method}",
            json=parameters,
            idempotent=idempotent,
        )
        if not response.body.strip():
            return MethodResult()
        try:
            result: MethodResult[Any, Any] = _method_decoder(returns, out).decode(response.body)
        except msgspec.DecodeError as exc:
            raise self._transport.protocol_error(
                response, "POST", path, f"not the expected method result ({exc})"
            ) from None
        return result

    # ---- plumbing ------------------------------------------------------------------------

    async def _paged(
        self,
        path: str,
        route: str,
        query: ODataQuery,
        row_type: type[R],
        key: tuple[str, ...],
        paging: PagingMode,
        page_size: int | None,
        count_check: bool,
    ) -> AsyncGenerator[list[R], None]:
        size = page_size or self.settings.page_size
        paginator = Paginator(
            query=query,
            page_size=size,
            key=key,
            key_attrs=key_attributes(row_type, key),
            mode=paging,
            count_check=count_check,
            call=self._transport.call_name("GET", path),
        )
        next_query: ODataQuery | None = paginator.first()
        while next_query is not None:
            page = await self._get_page(path, route, next_query, row_type)
            next_query = paginator.advance(page)
            if page.value:
                yield page.value
        log.debug(
            "epicor_pull_done",
            extra={
                "connection": self.connection,
                "route": route,
                "rows": paginator.seen,
                "pages": paginator.pages,
            },
        )

    async def _get_page(self, path: str, route: str, query: ODataQuery, row_type: type[R]) -> Any:
        response = await self._transport.send("GET", path, route, query=query)
        try:
            return page_decoder(row_type).decode(response.body)
        except msgspec.DecodeError as exc:
            raise self._transport.protocol_error(
                response, "GET", path, f"rows are not {row_type.__name__} rows ({exc})"
            ) from None

    def _keyed_path(self, entity: EntitySet[Any], key: Sequence[Value]) -> str:
        if len(key) != len(entity.key):
            raise UsageError(
                f"{self.connection}: {entity.path} is keyed by {list(entity.key)}, "
                f"got {len(key)} values"
            )
        return f"{self._transport.root}/{entity.path}{path_segment(entity_key(key))}"

    def _decode_row(self, response: HttpResponse, method: str, path: str, row_type: type[R]) -> R:
        try:
            row: R = row_decoder(row_type).decode(response.body)
        except msgspec.DecodeError as exc:
            raise self._transport.protocol_error(
                response, method, path, f"not a {row_type.__name__} row ({exc})"
            ) from None
        return row


def _equalities(equal: Mapping[str, Value] | None) -> list[str]:
    return [compare(name, "eq", value) for name, value in (equal or {}).items()]


def _paging_key(
    key: tuple[str, ...],
    scope: tuple[str, ...],
    equal: Mapping[str, Value] | None,
    order_by: Sequence[str] | None,
) -> tuple[str, ...]:
    """The columns to order and page by: ``order_by``, else the key without fixed columns."""
    if order_by:
        return tuple(check_name(name) for name in order_by)
    fixed = set(scope) | set(equal or ())
    return tuple(name for name in key if name not in fixed) or key
