"""Model files: import sources, export output and failure dumps, stored as chunk files on disk.

Behaviour (reference/anaplan.md §2 "Upload", "Export download"; community README #111/#253):

* ``POST …/files/{id}`` with ``{"chunkCount": N}`` starts a new upload of N chunks, ``-1`` an upload
  of unknown length that ``POST …/complete`` closes; ``PUT …/chunks/{n}`` stores one chunk (raw
  octet-stream, or gzip when ``Content-Type: application/x-gzip``), at most 50 MB uncompressed and
  at most 1,000 chunks a file; ``PUT …/files/{id}`` stores a one-chunk file as sent (never
  decompressed: "you cannot compress a file that you are uploading as a single file").
* Content is per user: an upload is the uploader's private content; ``DELETE`` removes only the
  caller's private content, leaving the seeded default (header-only) content in place. Export
  output is the private content of the user who ran the export (anaplan-sdk docs/concepts.md).
* Decisions where sources are silent: a chunk over the size limit answers **413**; a chunk index
  ≥ 1,000 or ≥ the declared ``chunkCount``, or a ``chunkCount`` above 1,000 or below -1, answers
  **400**; a chunk ``Content-Type`` other than ``application/octet-stream`` or
  ``application/x-gzip`` answers **415**; a gzip body that does not decompress answers **400**.
  Content never expires (Anaplan drops it after 48 h).

Chunks are streamed to disk, never held whole in memory: a file may be 1,000 x 50 MB.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from mlc.sandbox.anaplan.envelope import ApiError

MAX_CHUNKS = 1000
OCTET_STREAM = "application/octet-stream"
GZIP = "application/x-gzip"
_READ = 1 << 20


@dataclass
class Content:
    directory: Path
    expected: int | None
    chunks: dict[int, Path] = field(default_factory=dict)
    completed: bool = False

    @property
    def complete(self) -> bool:
        if self.expected is None:
            return self.completed
        return all(i in self.chunks for i in range(self.expected))

    @property
    def chunk_count(self) -> int:
        if self.expected is not None and self.expected >= 0:
            return self.expected
        return len(self.chunks)

    def paths(self) -> list[Path]:
        return [self.chunks[i] for i in sorted(self.chunks)]

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.chunks.values())


@dataclass
class StoredFile:
    id: str
    name: str
    origin: str  # "import", "export" or "created"
    default: Content | None = None
    private: dict[str, Content] = field(default_factory=dict)

    def visible(self, user: str) -> Content | None:
        return self.private.get(user) or self.default

    def summary(self, user: str) -> dict[str, Any]:
        content = self.visible(user)
        return {
            "id": self.id,
            "name": self.name,
            "chunkCount": content.chunk_count if content is not None else 0,
            "delimiter": '"',
            "encoding": "UTF-8",
            "firstDataRow": 2,
            "format": "txt",
            "headerRow": 1,
            "separator": ",",
        }


class FileStore:
    """The files of one model, their chunks under ``root``."""

    def __init__(self, root: Path, max_chunk_bytes: int) -> None:
        self.root = root
        self.max_chunk_bytes = max_chunk_bytes
        self.files: dict[str, StoredFile] = {}
        self._generation = itertools.count(1)
        root.mkdir(parents=True, exist_ok=True)

    def new_directory(self, file_id: str, owner: str) -> Path:
        tag = hashlib.sha256(owner.encode()).hexdigest()[:12]
        path = self.root / file_id / tag / str(next(self._generation))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add(self, file_id: str, name: str, origin: str) -> StoredFile:
        stored = StoredFile(file_id, name, origin)
        self.files[file_id] = stored
        return stored

    def set_default(self, stored: StoredFile, data: bytes) -> None:
        directory = self.new_directory(stored.id, "<default>")
        path = directory / "chunk-0"
        path.write_bytes(data)
        stored.default = Content(directory, 1, {0: path}, True)

    def start_upload(self, stored: StoredFile, user: str, chunk_count: int) -> Content:
        if chunk_count < -1 or chunk_count > MAX_CHUNKS:
            raise ApiError(
                400, f"Invalid chunkCount {chunk_count}: expected -1 or 0 to {MAX_CHUNKS}"
            )
        self._discard(stored.private.pop(user, None))
        content = Content(
            self.new_directory(stored.id, user), None if chunk_count < 0 else chunk_count
        )
        stored.private[user] = content
        return content

    def publish(self, stored: StoredFile, user: str, directory: Path, paths: list[Path]) -> None:
        """Make ``paths`` (already under ``directory``) the user's complete content."""
        self._discard(stored.private.pop(user, None))
        stored.private[user] = Content(directory, len(paths), dict(enumerate(paths)), True)

    def delete_private(self, stored: StoredFile, user: str) -> None:
        self._discard(stored.private.pop(user, None))

    def _discard(self, content: Content | None) -> None:
        if content is not None:
            shutil.rmtree(content.directory, ignore_errors=True)

    async def write_chunk(
        self,
        content: Content,
        index: int,
        body: AsyncIterator[bytes],
        content_type: str,
    ) -> None:
        if index < 0 or index >= MAX_CHUNKS:
            raise ApiError(400, f"Invalid chunk id {index}: a file has at most {MAX_CHUNKS} chunks")
        if content.expected is not None and index >= content.expected:
            raise ApiError(
                400,
                f"Invalid chunk id {index}: the file was declared with {content.expected} chunks",
            )
        if content_type not in (OCTET_STREAM, GZIP):
            raise ApiError(415, f"Unsupported Media Type '{content_type}'")
        target = content.directory / f"chunk-{index}"
        partial = content.directory / f".chunk-{index}.{os.getpid()}.{id(body)}"
        try:
            if content_type == GZIP:
                await _write_gunzipped(body, partial, self.max_chunk_bytes)
            else:
                await _write_plain(body, partial, self.max_chunk_bytes)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        content.chunks[index] = target

    async def write_single(self, stored: StoredFile, user: str, body: AsyncIterator[bytes]) -> None:
        content = self.start_upload(stored, user, 1)
        await self.write_chunk(content, 0, body, OCTET_STREAM)

    def reset(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self.files.clear()


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"Chunk exceeds the maximum of {limit} bytes uncompressed")


async def _write_plain(body: AsyncIterator[bytes], path: Path, limit: int) -> None:
    written = 0
    async with await anyio.open_file(path, "wb") as out:
        async for data in body:
            written += len(data)
            if written > limit:
                raise _too_large(limit)
            await out.write(data)


class _Gunzip:
    """Incremental gzip decoding (several members allowed) that never inflates past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.written = 0
        self.inflater = zlib.decompressobj(wbits=31)
        self.seen_input = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        self.seen_input = self.seen_input or bool(data)
        while data:
            try:
                piece = self.inflater.decompress(data, _READ)
            except zlib.error as exc:
                raise ApiError(400, f"Chunk is not valid gzip: {exc}") from None
            self.written += len(piece)
            if self.written > self.limit:
                raise _too_large(self.limit)
            yield piece
            if self.inflater.eof:
                data = self.inflater.unused_data
                if data:
                    self.inflater = zlib.decompressobj(wbits=31)
            else:
                data = self.inflater.unconsumed_tail

    def finish(self) -> None:
        if not self.seen_input or not self.inflater.eof:
            raise ApiError(400, "Chunk is not valid gzip: truncated stream")


async def _write_gunzipped(body: AsyncIterator[bytes], path: Path, limit: int) -> None:
    gunzip = _Gunzip(limit)
    async with await anyio.open_file(path, "wb") as out:
        async for data in body:
            for piece in gunzip.feed(data):
                await out.write(piece)
    gunzip.finish()
