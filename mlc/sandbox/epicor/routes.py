"""The API host's routes: ``/{instance}/api/v2/odata/{Company}/{Service}/…`` and the token
resource.

Per service: the service document (``GET {Svc}/``), ``$metadata``, and per entity set the list
(``GET``/``POST``), ``$count``, the entity by key (``GET``/``PATCH``/``DELETE``) and its
navigation collections; then the service's methods (``POST {Svc}/{Method}``; the read-only
``GetByID``/``GetByGroupID`` also as ``GET`` with query parameters [KB, SNO]). The BAQ lives at
``BaqSvc/{BaqID}/Data``. Each route is registered on its own template so the sandbox's request
counters tell the calls apart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from mlc.sandbox.epicor.auth import Tokens
from mlc.sandbox.epicor.baq import BaqSource
from mlc.sandbox.epicor.config import EpicorOptions
from mlc.sandbox.epicor.entities import BY_NAME, PARENT_OF, EntitySet, services
from mlc.sandbox.epicor.errors import api_error, not_found
from mlc.sandbox.epicor.faults import EpicorFaults
from mlc.sandbox.epicor.keys import parse_key
from mlc.sandbox.epicor.metadata import baq_metadata, service_metadata
from mlc.sandbox.epicor.methods import Call, Method
from mlc.sandbox.epicor.middleware import PRINCIPAL
from mlc.sandbox.epicor.odata import compile_filter
from mlc.sandbox.epicor.options import ListQuery, parse_list_query
from mlc.sandbox.epicor.payload import context, json_response, odata_response, project
from mlc.sandbox.epicor.query import ListSource, Page, RowSource, run
from mlc.sandbox.epicor.state import EpicorState
from mlc.sandbox.epicor.token_resource import token_resource
from mlc.sandbox.epicor.writes import Writers, read_entity

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_GET_METHODS = frozenset({"GetByID", "GetByGroupID"})


class ApiRoutes:
    def __init__(
        self,
        state: EpicorState,
        tokens: Tokens,
        faults: EpicorFaults,
        methods: Mapping[tuple[str, str], Method],
        writers: Writers,
    ) -> None:
        self.state = state
        self.options: EpicorOptions = state.options
        self.tokens = tokens
        self.faults = faults
        self.methods = methods
        self.writers = writers

    # -- registration --------------------------------------------------------------------

    def register(self, app: web.Application) -> None:
        instance = self.options.instance
        token = token_resource(self.options, self.tokens)
        app.router.add_post(f"/{instance}/TokenResource.svc/", token)
        app.router.add_post(f"/{instance}/TokenResource.svc", token)
        prefix = f"/{instance}/api/v2/odata/{{company}}"
        grouped = services()
        for service, entities in grouped.items():
            base = f"{prefix}/{service}"
            document = self._service_document(service, entities)
            app.router.add_get(f"{base}/", document)
            app.router.add_get(base, document)
            app.router.add_get(f"{base}/$metadata", self._metadata(service, entities))
            for entity in entities:
                path = f"{base}/{entity.name}"
                app.router.add_get(path, self._list(entity))
                app.router.add_post(path, self._create(entity))
                app.router.add_get(f"{path}/$count", self._count(entity))
                app.router.add_get(f"{path}({{keys}})", self._get(entity))
                app.router.add_patch(f"{path}({{keys}})", self._update(entity))
                app.router.add_delete(f"{path}({{keys}})", self._delete(entity))
                for nav in entity.navigations:
                    app.router.add_get(
                        f"{path}({{keys}})/{nav.name}", self._navigate(entity, nav.name)
                    )
        for (service, name), method in self.methods.items():
            path = f"{prefix}/{service}/{name}"
            handler = self._method(method)
            app.router.add_post(path, handler)
            if name in _GET_METHODS:
                app.router.add_get(path, handler)
        app.router.add_get(f"{prefix}/BaqSvc/{{baq_id}}/Data", self._baq)
        app.router.add_get(f"{prefix}/BaqSvc/{{baq_id}}/$metadata", self._baq_metadata)

    # -- helpers -------------------------------------------------------------------------

    def _root(self, request: web.Request, service: str) -> str:
        company = request.match_info["company"]
        return f"{request.url.origin()}/{self.options.instance}/api/v2/odata/{company}/{service}/"

    def _source(self, entity: EntitySet) -> RowSource:
        return self.state.source(entity.name)

    def _key(self, entity: EntitySet, request: web.Request) -> tuple[Any, ...]:
        return parse_key(request.match_info["keys"], entity.keys, entity.row_type)

    def _row(self, entity: EntitySet, request: web.Request) -> Mapping[str, Any]:
        key = self._key(entity, request)
        row: Mapping[str, Any] | None
        if entity.name == "GLPeriodBalSearches":
            row = self.state.balances.get(key)
        else:
            row = self.state.table(entity.name).get(key)
        if row is None:
            raise not_found("Record not found.", entity.row)
        return row

    def _render(
        self, entity: EntitySet, row: Mapping[str, Any], query: ListQuery
    ) -> dict[str, Any]:
        fields = query.select or tuple(entity.row_type.fields)
        out = project(row, fields)
        for name in query.expand:
            nav = entity.navigation(name)
            assert nav is not None
            child = BY_NAME[nav.target]
            children = self.state.table(child.name).where(
                **{child_field: row[parent_field] for parent_field, child_field in nav.link}
            )
            out[name] = [project(item, tuple(child.row_type.fields)) for item in children]
        return out

    async def _skip_delay(self, request: web.Request, skip: int) -> None:
        delay = self.faults.skip_delay(request.path, skip)
        if delay > 0:
            await asyncio.sleep(delay)

    def _page_body(
        self,
        request: web.Request,
        root: str,
        name: str,
        query: ListQuery,
        page: Page,
        rows: list[dict[str, Any]],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"@odata.context": context(root, name, query.select)}
        if page.count is not None:
            body["@odata.count"] = page.count
        body["value"] = rows
        if self.options.next_link and page.more:
            url = request.url.update_query({"$skip": str(query.skip + len(rows))})
            body["@odata.nextLink"] = str(url)
        return body

    def _run(self, source: RowSource, query: ListQuery) -> Page:
        return run(source, query, self.options.page_cap, self.options.max_sort_rows)

    # -- handlers ------------------------------------------------------------------------

    def _service_document(self, service: str, entities: list[EntitySet]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            root = self._root(request, service)
            return odata_response(
                {
                    "@odata.context": f"{root}$metadata",
                    "value": [
                        {"name": e.name, "kind": "EntitySet", "url": e.name} for e in entities
                    ],
                }
            )

        return handler

    def _metadata(self, service: str, entities: list[EntitySet]) -> Handler:
        document = service_metadata(service, entities)

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(
                text=document, content_type="application/xml", headers={"OData-Version": "4.0"}
            )

        return handler

    def _children_of_filtered_parents(
        self, entity: EntitySet, request: web.Request
    ) -> tuple[RowSource, list[tuple[str, str]]] | None:
        """The parent-filter quirk (see :mod:`entities`): the rows and the remaining options."""
        parent_of = PARENT_OF.get(entity.name)
        expression = request.query.get("$filter")
        if not self.options.parent_filter_quirk or parent_of is None or expression is None:
            return None
        parent, nav = parent_of
        parent_query = parse_list_query(
            [("$filter", expression)], parent.row_type.fields, parent.row_type.qualified
        )
        assert parent_query.filter is not None
        matches = compile_filter(parent_query.filter)
        children_table = self.state.table(entity.name)
        children: list[Mapping[str, Any]] = []
        for row in self.state.table(parent.name).scan():
            if matches(row):
                link = {child: row[parent_field] for parent_field, child in nav.link}
                children.extend(children_table.where(**link))
        source = ListSource(
            children, entity.row_type.fields, entity.row_type.qualified, entity.keys
        )
        rest = [(k, v) for k, v in request.query.items() if k != "$filter"]
        return source, rest

    def _list(self, entity: EntitySet) -> Handler:
        navs = [nav.name for nav in entity.navigations]

        async def handler(request: web.Request) -> web.StreamResponse:
            source = self._source(entity)
            params: list[tuple[str, str]] = list(request.query.items())
            quirk = self._children_of_filtered_parents(entity, request)
            if quirk is not None:
                source, params = quirk
            query = parse_list_query(params, source.fields, source.type_name, navs)
            await self._skip_delay(request, query.skip)
            page = self._run(source, query)
            rows = [self._render(entity, row, query) for row in page.rows]
            root = self._root(request, entity.service)
            return odata_response(self._page_body(request, root, entity.name, query, page, rows))

        return handler

    def _count(self, entity: EntitySet) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            source = self._source(entity)
            params = [(k, v) for k, v in request.query.items() if k == "$filter"]
            quirk = self._children_of_filtered_parents(entity, request)
            if quirk is not None:
                source, params = quirk[0], []
            query = parse_list_query(params, source.fields, source.type_name)
            counted = run(
                source,
                ListQuery(filter=query.filter, top=0, count=True),
                self.options.page_cap,
                self.options.max_sort_rows,
            )
            return web.Response(text=str(counted.count), content_type="text/plain")

        return handler

    def _get(self, entity: EntitySet) -> Handler:
        navs = [nav.name for nav in entity.navigations]

        async def handler(request: web.Request) -> web.StreamResponse:
            row = self._row(entity, request)
            params = [(k, v) for k, v in request.query.items() if k in ("$select", "$expand")]
            query = parse_list_query(
                params, entity.row_type.fields, entity.row_type.qualified, navs
            )
            body = {
                "@odata.context": context(
                    self._root(request, entity.service), entity.name, query.select, single=True
                ),
                **self._render(entity, row, query),
            }
            return odata_response(body)

        return handler

    def _navigate(self, entity: EntitySet, name: str) -> Handler:
        nav = entity.navigation(name)
        assert nav is not None
        child = BY_NAME[nav.target]

        async def handler(request: web.Request) -> web.StreamResponse:
            row = self._row(entity, request)
            children = self.state.table(child.name).where(
                **{child_field: row[parent_field] for parent_field, child_field in nav.link}
            )
            source = ListSource(
                children, child.row_type.fields, child.row_type.qualified, child.keys
            )
            query = parse_list_query(
                request.query.items(),
                source.fields,
                source.type_name,
                [n.name for n in child.navigations],
            )
            page = self._run(source, query)
            rows = [self._render(child, item, query) for item in page.rows]
            root = self._root(request, child.service)
            return odata_response(self._page_body(request, root, child.name, query, page, rows))

        return handler

    async def _body(self, request: web.Request) -> Any:
        try:
            return await request.json(loads=json.loads)
        except ValueError:
            return None

    def _create(self, entity: EntitySet) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            values = read_entity(entity, await self._body(request))
            row = self.writers.create(entity, values)
            root = self._root(request, entity.service)
            body = {
                "@odata.context": context(root, entity.name, single=True),
                **project(row, tuple(entity.row_type.fields)),
            }
            keys = ",".join(
                f"'{row[k]}'" if isinstance(row[k], str) else str(row[k]) for k in entity.keys
            )
            response = odata_response(body, status=201)
            response.headers["Location"] = f"{root}{entity.name}({keys})"
            return response

        return handler

    def _update(self, entity: EntitySet) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            key = self._key(entity, request)
            values = read_entity(entity, await self._body(request))
            self.writers.update(entity, key, values)
            return web.Response(status=204)

        return handler

    def _delete(self, entity: EntitySet) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            self.writers.delete(entity, self._key(entity, request))
            return web.Response(status=204)

        return handler

    def _method(self, method: Method) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            principal = request[PRINCIPAL]
            if request.method == "GET":
                raw: Any = dict(request.query)
            else:
                raw = await self._body(request)
                if not isinstance(raw, dict):
                    raise api_error(400, "The request body must be a JSON object of parameters.")
            return json_response(method(Call(raw, principal)))

        return handler

    def _baq_source(self, request: web.Request) -> BaqSource:
        baq_id = request.match_info["baq_id"]
        if baq_id != self.options.baq_id:
            raise api_error(404, f"Query '{baq_id}' was not found.")
        return BaqSource(baq_id, self.state.balances)

    async def _baq(self, request: web.Request) -> web.StreamResponse:
        source = self._baq_source(request)
        query = parse_list_query(request.query.items(), source.fields, source.type_name)
        await self._skip_delay(request, query.skip)
        page = self._run(source, query)
        fields = query.select or tuple(source.fields)
        text = self.options.baq_decimals_as_strings
        rows = [project(row, fields, decimals_as_text=text) for row in page.rows]
        root = self._root(request, f"BaqSvc/{self.options.baq_id}")
        return odata_response(self._page_body(request, root, "Data", query, page, rows))

    async def _baq_metadata(self, request: web.Request) -> web.StreamResponse:
        source = self._baq_source(request)
        return web.Response(
            text=baq_metadata(source.fields, source.key_fields), content_type="application/xml"
        )
