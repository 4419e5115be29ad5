"""Integration API bulk endpoints: imports, exports, processes, actions, files, tasks and dumps.

Path forms (community README #27/#28): listing and metadata GETs answer under both
``/workspaces/{ws}/models/{M}/…`` and ``/models/{M}/…``; uploads, task starts, task polls, cancels
and dumps are documented only under the workspace form, so only that form is routed for them
(the other answers the unknown-route 404). ``…/imports/`` with a trailing slash is the documented
listing URL and works too.

Facts: ``POST …/tasks`` takes ``{"localeName": "en_US"}`` (documented as required — a missing or
other locale answers 400 here) and answers 200 ``{meta, status, task: {taskId, taskState:
"NOT_STARTED", creationTime}}``; task lists answer 200 (empty) even for an unknown parent
(community README, NO ACCESS sweep); ``GET …/imports/{unknown id}`` answers **500** live (same
source) and does so here; ``GET …/files/{id}`` returns the raw bytes as octet-stream, or 404 when
there is no content; chunk and single-file PUTs answer 204 with no body; dumps are served with
``Content-Type: text/csv`` (the reference says text/csv, the community spec text/plain — both are
CSV bodies; unverified which header), 404 when the task has no (or no longer has a) dump, or when it
belongs to another user (dumps are per user). No processes or actions are seeded, so process dumps
(``…/processes/{P}/tasks/{T}/dumps/{objectId}``) are not routed and those lists are empty. While
the model is busy these endpoints still answer (help 27b77b79). Tasks of other users appear in
task lists.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from aiohttp import web

from mlc.sandbox.anaplan import ids
from mlc.sandbox.anaplan.api_context import UserHandler, authenticated, model_state
from mlc.sandbox.anaplan.auth import User
from mlc.sandbox.anaplan.envelope import ApiError, collection, schema, success
from mlc.sandbox.anaplan.exporter import row_count
from mlc.sandbox.anaplan.files import Content, StoredFile
from mlc.sandbox.anaplan.jobs import export_job, import_job
from mlc.sandbox.anaplan.state import ModelState, Tenant, TenantRef
from mlc.sandbox.anaplan.tasks import Job

W = "/2/0/workspaces/{workspace_id}/models/{model_id}"
M = "/2/0/models/{model_id}"


def _sorted(request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Model-object lists: ``sort`` is not validated; ``name`` and ``id`` really reorder."""
    for term in reversed(request.query.get("sort", "").split(",")):
        term = term.strip()
        descending = term.startswith("-")
        field = term.lstrip("+-")
        if field in ("name", "id"):
            items.sort(key=lambda item: str(item.get(field, "")), reverse=descending)
    return items


def _sorted_tasks(request: web.Request, jobs: list[Job]) -> list[Job]:
    jobs = sorted(jobs, key=lambda j: j.created)
    term = request.query.get("sort", "")
    if term.startswith("-") and term.lstrip("-") in ("creationTime", "creationDate"):
        jobs.reverse()
    return jobs


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Malformed JSON request body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Expected a JSON object in the request body")
    return body


async def _locale(request: web.Request) -> None:
    body = await _json_object(request)
    if body.get("localeName") != "en_US":
        raise ApiError(400, "Expected mandatory field 'localeName' to be 'en_US'.")


async def _stream(request: web.Request, paths: list[Path], content_type: str) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.content_length = sum(p.stat().st_size for p in paths)
    await response.prepare(request)
    for path in paths:
        async with await anyio.open_file(path, "rb") as source:
            while block := await source.read(1 << 20):
                await response.write(block)
    await response.write_eof()
    return response


def _chunk_list(request: web.Request, count: int, model_id: str) -> web.Response:
    chunks = [{"id": str(i), "name": f"Chunk {i}"} for i in range(count)]
    return collection(request, "chunks", chunks, schema("chunk", model_id))


def _chunk_index(request: web.Request) -> int:
    raw = request.match_info["chunk_id"]
    if not raw.isdigit():
        raise ApiError(404)
    return int(raw)


def add_bulk_routes(app: web.Application, ref: TenantRef) -> None:
    def route(handler: UserHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        return authenticated(ref, handler)

    # imports ------------------------------------------------------------------------------
    async def list_imports(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        items = _sorted(request, [d.summary() for d in state.imports.values()])
        return collection(request, "imports", items, schema("import", state.model.id))

    async def import_metadata(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        definition = state.imports.get(request.match_info["action_id"])
        if definition is None:
            raise ApiError(500, "Internal Server Error")
        return success(
            "importMetadata", definition.metadata(), schema("importMetadata", state.model.id)
        )

    # exports ------------------------------------------------------------------------------
    async def list_exports(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        items = _sorted(request, [d.summary() for d in state.exports.values()])
        return collection(request, "exports", items, schema("export", state.model.id))

    async def export_metadata(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        definition = state.exports.get(request.match_info["action_id"])
        if definition is None:
            raise ApiError(404)
        body = definition.metadata(state.model, row_count(state.model, definition))
        return success("exportMetadata", body, schema("exportMetadata", state.model.id))

    async def empty_list(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        kind = request.path.rstrip("/").rsplit("/", 1)[-1]
        singular = {"processes": "process", "actions": "action"}[kind]
        return collection(request, kind, [], schema(singular, state.model.id))

    # tasks --------------------------------------------------------------------------------
    def _definition_job(
        state: ModelState, tenant: Tenant, kind: str, action_id: str, user: User
    ) -> Job:
        if kind == "imports":
            definition = state.imports.get(action_id)
            if definition is None:
                raise ApiError(404)
            return import_job(tenant, state, definition, user.email)
        if kind == "exports":
            export = state.exports.get(action_id)
            if export is None:
                raise ApiError(404)
            return export_job(tenant, state, export, user.email)
        raise ApiError(404)

    async def start_task(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        kind = request.match_info["kind"]
        action_id = request.match_info["action_id"]
        job = _definition_job(state, tenant, kind, action_id, user)
        await _locale(request)
        state.queue.submit(job)
        body = job.brief()
        state.queue.settle(tenant.now())
        return success("task", body, schema("task", state.model.id))

    async def list_tasks(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        jobs = _sorted_tasks(request, state.queue.tasks_of(request.match_info["action_id"]))
        return collection(
            request, "tasks", [j.brief() for j in jobs], schema("task", state.model.id)
        )

    def _job(request: web.Request, state: ModelState) -> Job:
        job = state.find_job(request.match_info["action_id"], request.match_info["task_id"])
        if job is None or request.match_info["kind"] not in (f"{job.kind}s",):
            raise ApiError(404)
        return job

    async def get_task(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        job = _job(request, state)
        return success("task", job.view(tenant.now()), schema("task", state.model.id))

    async def cancel_task(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        job = _job(request, state)
        state.queue.cancel(job, tenant.now())
        tenant.counters.bump("tasks_cancelled")
        return success("task", job.view(tenant.now()), schema("task", state.model.id))

    def _dump(request: web.Request, state: ModelState, user: User) -> list[Path]:
        job = state.find_job(request.match_info["action_id"], request.match_info["task_id"])
        if job is None or job.kind != "import" or job.actor.email != user.email:
            raise ApiError(404)
        dump = state.dumps.get(job.task_id)
        if dump is None:
            raise ApiError(404)
        return dump[1]

    async def get_dump(request: web.Request, tenant: Tenant, user: User) -> web.StreamResponse:
        state = model_state(request, tenant)
        return await _stream(request, _dump(request, state, user), "text/csv")

    async def dump_chunks(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        return _chunk_list(request, len(_dump(request, state, user)), state.model.id)

    async def dump_chunk(request: web.Request, tenant: Tenant, user: User) -> web.StreamResponse:
        state = model_state(request, tenant)
        paths = _dump(request, state, user)
        index = _chunk_index(request)
        if index >= len(paths):
            raise ApiError(404)
        return await _stream(request, [paths[index]], "text/csv")

    # files --------------------------------------------------------------------------------
    def _file(request: web.Request, state: ModelState) -> StoredFile:
        stored = state.files.files.get(request.match_info["file_id"])
        if stored is None:
            raise ApiError(404)
        return stored

    def _file_body(stored: StoredFile, user: User, state: ModelState) -> web.Response:
        return success("file", stored.summary(user.email), schema("file", state.model.id))

    async def list_files(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        items = _sorted(request, [f.summary(user.email) for f in state.files.files.values()])
        return collection(request, "files", items, schema("file", state.model.id))

    async def set_chunk_count(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        file_id = request.match_info["file_id"]
        body = await _json_object(request)
        count = body.get("chunkCount")
        if not isinstance(count, int) or isinstance(count, bool):
            raise ApiError(400, "Expected mandatory integer field 'chunkCount'.")
        stored = state.files.files.get(file_id)
        if stored is None:
            if ids.object_prefix(file_id) != ids.FILE_PREFIX:
                raise ApiError(404)
            stored = state.files.add(file_id, str(body.get("name") or file_id), "created")
        if stored.origin == "export":
            raise ApiError(400, f"File {file_id} is an export output, not an import data source.")
        state.files.start_upload(stored, user.email, count)
        tenant.counters.bump("uploads_started")
        return _file_body(stored, user, state)

    async def put_chunk(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        stored = _file(request, state)
        content = stored.private.get(user.email)
        if content is None or content.completed:
            raise ApiError(
                400, "Set the chunk count (POST …/files/{fileId}) before uploading chunks."
            )
        index = _chunk_index(request)
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        await state.files.write_chunk(
            content, index, request.content.iter_chunked(1 << 20), content_type
        )
        tenant.counters.bump("chunks_uploaded")
        return web.Response(status=204)

    async def complete_upload(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        stored = _file(request, state)
        content = stored.private.get(user.email)
        if content is None:
            raise ApiError(400, "No upload in progress for this file.")
        if content.expected is None:
            content.expected = (max(content.chunks) + 1) if content.chunks else 0
        if not content.complete:
            raise ApiError(400, "Not all chunks have been uploaded.")
        content.completed = True
        return _file_body(stored, user, state)

    async def put_file(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        stored = _file(request, state)
        if stored.origin == "export":
            raise ApiError(400, f"File {stored.id} is an export output, not an import data source.")
        await state.files.write_single(stored, user.email, request.content.iter_chunked(1 << 20))
        stored.private[user.email].completed = True
        return web.Response(status=204)

    async def delete_file(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        stored = _file(request, state)
        state.files.delete_private(stored, user.email)
        return web.Response(status=204)

    def _content(request: web.Request, state: ModelState, user: User) -> Content:
        content = _file(request, state).visible(user.email)
        if content is None or content.chunk_count == 0 or not content.chunks:
            raise ApiError(404)
        return content

    async def get_file(request: web.Request, tenant: Tenant, user: User) -> web.StreamResponse:
        state = model_state(request, tenant)
        return await _stream(
            request, _content(request, state, user).paths(), "application/octet-stream"
        )

    async def file_chunks(request: web.Request, tenant: Tenant, user: User) -> web.Response:
        state = model_state(request, tenant)
        content = _file(request, state).visible(user.email)
        count = len(content.chunks) if content is not None else 0
        return _chunk_list(request, count, state.model.id)

    async def get_chunk(request: web.Request, tenant: Tenant, user: User) -> web.StreamResponse:
        state = model_state(request, tenant)
        content = _content(request, state, user)
        path = content.chunks.get(_chunk_index(request))
        if path is None:
            raise ApiError(404)
        return await _stream(request, [path], "application/octet-stream")

    add = app.router.add_route
    for prefix in (W, M):
        add("GET", f"{prefix}/imports", route(list_imports))
        add("GET", f"{prefix}/imports/{{action_id}}", route(import_metadata))
        add("GET", f"{prefix}/exports", route(list_exports))
        add("GET", f"{prefix}/exports/{{action_id}}", route(export_metadata))
        add("GET", f"{prefix}/processes", route(empty_list))
        add("GET", f"{prefix}/actions", route(empty_list))
        add("GET", f"{prefix}/files", route(list_files))
        add("GET", f"{prefix}/files/{{file_id}}", route(get_file))
        add("GET", f"{prefix}/files/{{file_id}}/chunks", route(file_chunks))
    add("GET", f"{W}/imports/", route(list_imports))
    add("GET", f"{W}/files/{{file_id}}/chunks/{{chunk_id}}", route(get_chunk))
    add("POST", f"{W}/files/{{file_id}}", route(set_chunk_count))
    add("PUT", f"{W}/files/{{file_id}}", route(put_file))
    add("DELETE", f"{W}/files/{{file_id}}", route(delete_file))
    add("PUT", f"{W}/files/{{file_id}}/chunks/{{chunk_id}}", route(put_chunk))
    add("POST", f"{W}/files/{{file_id}}/complete", route(complete_upload))
    kinds = "{kind:imports|exports|processes|actions}"
    add("POST", f"{W}/{kinds}/{{action_id}}/tasks", route(start_task))
    add("GET", f"{W}/{kinds}/{{action_id}}/tasks", route(list_tasks))
    add("GET", f"{W}/{kinds}/{{action_id}}/tasks/{{task_id}}", route(get_task))
    add("DELETE", f"{W}/{kinds}/{{action_id}}/tasks/{{task_id}}", route(cancel_task))
    add("GET", f"{W}/imports/{{action_id}}/tasks/{{task_id}}/dump", route(get_dump))
    add("GET", f"{W}/imports/{{action_id}}/tasks/{{task_id}}/dump/chunks", route(dump_chunks))
    add(
        "GET",
        f"{W}/imports/{{action_id}}/tasks/{{task_id}}/dump/chunks/{{chunk_id}}",
        route(dump_chunk),
    )
