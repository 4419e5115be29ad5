"""The one SQLite connection of a process: pragmas, serialised access, explicit transactions.

WAL mode lets readers (``mlc status``, ``mlc creds list``) run beside the service while it writes;
``synchronous=NORMAL`` is durable across process crashes in WAL mode (only an OS crash can lose
the last transactions), and ``busy_timeout`` makes a second process wait for the write lock
instead of failing at once. The connection is in autocommit mode and every write goes through
:meth:`Database.transaction` (``BEGIN IMMEDIATE`` … ``COMMIT``), so a batch is all or nothing.
One lock serialises the tasks of this process on the connection: without it one task's
statements would land inside another task's open transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import anyio

from mlc.store.errors import StoreError

BUSY_TIMEOUT_MS = 5000


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = anyio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> Database:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the state database {path}: {exc}") from exc
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor = await conn.execute("PRAGMA journal_mode = WAL")
            row = await cursor.fetchone()
            mode = str(row[0]).lower() if row else "unknown"
            if mode != "wal":
                raise StoreError(
                    f"cannot switch the state database {path} to WAL mode (it stays in {mode!r} "
                    "mode); keep state_dir on a local filesystem, not a network share"
                )
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await conn.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise StoreError(f"the state database {path} is unusable: {exc}") from exc
            raise
        return cls(conn, path)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for reads or a single statement, with no other task using it."""
        async with self._lock:
            yield self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection inside ``BEGIN IMMEDIATE``; committed on exit, rolled back on error."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")
