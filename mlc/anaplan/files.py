"""Chunked file upload and chunked downloads (reference §2 "Upload", "Dumps", "Export download").

Upload, memory flat whatever the file size:

1. ``POST …/files/{id} {"chunkCount": N}`` (``-1`` when the number is not known in advance).
   Posting to an id that does not exist creates a *new* file that no import reads, so the answer's
   ``file.id`` is checked (anaplan-sdk does the same);
2. ``PUT …/files/{id}/chunks/{n}`` for n = 0, 1, …, each chunk gzip-compressed and sent as
   ``application/x-gzip``, at most 50 MB uncompressed (Anaplan's limit; "expected between 1 and
   50 MB") and at most 1,000 chunks;
3. for ``-1`` only: ``POST …/files/{id}/complete``.

A source is either a spool file (its size gives N, chunks are read from disk one at a time) or an
async iterator of uncompressed bytes of any sizes, re-cut into chunks of ``chunk_size``. One chunk
is held at a time (plus its compressed form); compression runs in a worker thread so the event
loop keeps serving other actors. The chunk PUTs are idempotent and retried by the HTTP layer.

Downloads (export output, import failure dumps, process dumps) list the chunks and stream each
one, yielding the body piece by piece.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread

from mlc.anaplan.ids import ActionRef, ModelRef
from mlc.anaplan.models import ChunksPage, File, FileResponse
from mlc.anaplan.transport import AnaplanTransport

MAX_CHUNK_BYTES = 50 * 1024 * 1024
MAX_CHUNKS = 1000
#: anaplan-sdk's default; half of Anaplan's maximum leaves room for a row that straddles.
DEFAULT_CHUNK_BYTES = 25 * 1024 * 1024

UploadSource = Path | AsyncIterable[bytes]

_MODEL_ROUTE = "/2/0/workspaces/{workspace}/models/{model}"
_FILES_ROUTE = _MODEL_ROUTE + "/files/{file}"


async def rechunk(source: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """``source`` re-cut into pieces of exactly ``size`` bytes (the last one shorter)."""
    buffer = bytearray()
    async for piece in source:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


async def file_chunks(path: Path, size: int) -> AsyncIterator[bytes]:
    """The file at ``path`` in pieces of ``size`` bytes, read one at a time."""
    async with await anyio.open_file(path, "rb") as handle:
        while True:
            piece = await handle.read(size)
            if not piece:
                return
            yield piece


def _compress(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


async def upload_file(
    transport: AnaplanTransport,
    model: ModelRef,
    file_id: str,
    source: UploadSource,
    *,
    chunk_size: int = DEFAULT_CHUNK_BYTES,
) -> int:
    """Upload ``source`` into the model file ``file_id``; returns the number of chunks sent.

    :raises ValueError: ``chunk_size`` is not between 1 byte and 50 MB, or the source needs more
        than 1,000 chunks of that size.
    """
    if not 1 <= chunk_size <= MAX_CHUNK_BYTES:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_BYTES} bytes")
    url = f"{model.path}/files/{file_id}"
    if isinstance(source, Path):
        size = (await anyio.Path(source).stat()).st_size
        declared = max(1, math.ceil(size / chunk_size))
        if declared > MAX_CHUNKS:
            raise ValueError(
                f"{source} needs {declared} chunks of {chunk_size} bytes; Anaplan takes at most "
                f"{MAX_CHUNKS}: use larger chunks"
            )
        chunks: AsyncIterator[bytes] = file_chunks(source, chunk_size)
    else:
        declared = -1
        chunks = rechunk(source, chunk_size)
    await _start_upload(transport, url, file_id, declared)
    sent = 0
    async for chunk in chunks:
        if sent >= MAX_CHUNKS:
            raise ValueError(f"the upload to file {file_id} exceeds {MAX_CHUNKS} chunks")
        compressed = await anyio.to_thread.run_sync(_compress, chunk)
        await transport.request(
            "PUT",
            f"{url}/chunks/{sent}",
            route=_FILES_ROUTE + "/chunks/{chunk}",
            headers={"Content-Type": "application/x-gzip"},
            data=compressed,
        )
        sent += 1
    if sent == 0:
        await transport.request(
            "PUT",
            f"{url}/chunks/0",
            route=_FILES_ROUTE + "/chunks/{chunk}",
            headers={"Content-Type": "application/x-gzip"},
            data=_compress(b""),
        )
        sent = 1
    if declared == -1:
        await transport.request(
            "POST",
            f"{url}/complete",
            route=_FILES_ROUTE + "/complete",
            json={"id": file_id},
            idempotent=True,
        )
    return sent


async def _start_upload(
    transport: AnaplanTransport, url: str, file_id: str, chunk_count: int
) -> File:
    response = await transport.request(
        "POST",
        url,
        route=_FILES_ROUTE,
        json={"chunkCount": chunk_count},
        # Declaring the chunk count again before any chunk is sent changes nothing.
        idempotent=True,
    )
    file: File | None = response.json(FileResponse).file
    if file is None or file.id != file_id:
        created = file.id if file is not None else "nothing"
        raise transport.protocol_error(
            f"POST {url}",
            f"expected to upload into file {file_id}, but Anaplan answered with {created}; "
            "the import's data source id is wrong or the file no longer exists",
        )
    return file


async def _download_chunks(
    transport: AnaplanTransport, chunks_url: str, route: str
) -> AsyncIterator[bytes]:
    listing = await transport.get(chunks_url, ChunksPage, route=route)
    for chunk in listing.chunks:
        async with transport.stream(
            "GET", f"{chunks_url}/{chunk.id}", route=route + "/{chunk}"
        ) as response:
            async for piece in response.iter_chunks():
                yield piece


def download_export(
    transport: AnaplanTransport, model: ModelRef, export_id: str
) -> AsyncIterator[bytes]:
    """The export's output (its file id is the export id), chunk by chunk, piece by piece."""
    return _download_chunks(
        transport, f"{model.path}/files/{export_id}/chunks", _FILES_ROUTE + "/chunks"
    )


def download_dump(
    transport: AnaplanTransport,
    model: ModelRef,
    action: ActionRef,
    task_id: str,
    object_id: str | None = None,
) -> AsyncIterator[bytes]:
    """A failed task's dump: an import's, or (with ``object_id`` from ``nestedResults``) the dump
    of one import inside a process."""
    base = f"{model.path}/{action.kind.value}/{action.id}/tasks/{task_id}"
    route = f"{_MODEL_ROUTE}/{action.kind.value}/{{id}}/tasks/{{task}}"
    if object_id is None:
        return _download_chunks(transport, f"{base}/dump/chunks", route + "/dump/chunks")
    return _download_chunks(
        transport, f"{base}/dumps/{object_id}/chunks", route + "/dumps/{object}/chunks"
    )
