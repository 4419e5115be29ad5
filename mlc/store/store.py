"""Typed access to the state database: one method per thing the actors and the CLI need.

Every timestamp comes from the injected :class:`~mlc.runtime.clock.Clock`; every write is one
transaction, batches included.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import msgspec

from mlc.runtime.clock import Clock, SystemClock
from mlc.store.database import Database
from mlc.store.migrations import MIGRATIONS, Migration, migrate
from mlc.store.rows import (
    AnaplanTask,
    CredentialInfo,
    Posting,
    Record,
    RecordEvent,
    Run,
    RunCounts,
    RunStatus,
    StoredCredential,
    Trigger,
    Watermark,
)

R = TypeVar("R")

_RUN_COLUMNS = (
    "id, flow, trigger, parent_run_id, started_at, finished_at, status, "
    "read, mapped, quarantined, loaded, failed, error"
)
_RECORD_COLUMNS = (
    "id, run_id, flow, record_key, content_hash, stage, status, error, payload, updated_at"
)


def _row(row: sqlite3.Row, type_: type[R]) -> R:
    return msgspec.convert(dict(zip(row.keys(), row, strict=True)), type_)


def _run(row: sqlite3.Row) -> Run:
    values = dict(zip(row.keys(), row, strict=True))
    values["counts"] = {name: values.pop(name) for name in RunCounts.__struct_fields__}
    return msgspec.convert(values, Run)


class Store:
    """The state database. Open with ``await Store.open(path)``; close with ``close()`` or by
    using it as an async context manager."""

    def __init__(self, db: Database, clock: Clock, schema_version: int) -> None:
        self._db = db
        self._clock = clock
        self.schema_version = schema_version

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        clock: Clock | None = None,
        migrations: tuple[Migration, ...] = MIGRATIONS,
    ) -> Store:
        """Open (creating if needed) and migrate the database at ``path``."""
        clock = clock or SystemClock()
        db = await Database.open(path)
        try:
            async with db.connection() as conn:
                version = await migrate(
                    conn, now=clock.time(), where=str(path), migrations=migrations
                )
        except BaseException:
            await db.close()
            raise
        return cls(db, clock, version)

    @property
    def path(self) -> Path:
        return self._db.path

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def settings(self) -> dict[str, str | int]:
        """The connection's journal_mode, synchronous, foreign_keys and busy_timeout pragmas."""
        found: dict[str, str | int] = {}
        for pragma in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"):
            row = await self._one(f"PRAGMA {pragma}")
            assert row is not None
            found[pragma] = row[0]
        return found

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._db.connection() as conn:
            cursor = await conn.execute(sql, tuple(params))
            return list(await cursor.fetchall())

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one write statement in a transaction; the number of rows it changed."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(sql, tuple(params))
            return cursor.rowcount

    # runs

    async def create_run(self, flow: str, trigger: str, *, parent_run_id: int | None = None) -> Run:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO runs (flow, trigger, parent_run_id, started_at) VALUES (?, ?, ?, ?)"
                f" RETURNING {_RUN_COLUMNS}",
                (flow, trigger, parent_run_id, self._clock.time()),
            )
            row = await cursor.fetchone()
        assert row is not None
        return _run(row)

    async def update_run_counts(self, run_id: int, counts: RunCounts) -> None:
        """Record progress of a run that is still going."""
        await self._write(
            "UPDATE runs SET read = ?, mapped = ?, quarantined = ?, loaded = ?, failed = ?"
            " WHERE id = ?",
            (*msgspec.structs.astuple(counts), run_id),
        )

    async def finish_run(
        self, run_id: int, status: RunStatus, counts: RunCounts, *, error: str | None = None
    ) -> Run:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, read = ?, mapped = ?,"
                " quarantined = ?, loaded = ?, failed = ?, error = ? WHERE id = ?"
                f" RETURNING {_RUN_COLUMNS}",
                (status, self._clock.time(), *msgspec.structs.astuple(counts), error, run_id),
            )
            row = await cursor.fetchone()
        if row is None:
            raise KeyError(f"no run {run_id}")
        return _run(row)

    async def get_run(self, run_id: int) -> Run | None:
        row = await self._one(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return _run(row) if row else None

    async def list_runs(
        self, *, flow: str | None = None, status: RunStatus | None = None, limit: int = 50
    ) -> list[Run]:
        """Newest first."""
        where, params = _filters(flow=flow, status=status)
        rows = await self._all(
            f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        return [_run(row) for row in rows]

    async def interrupt_running_runs(self, error: str) -> list[int]:
        """Mark runs left ``running`` by a process that died as ``interrupted``; their ids.

        Call once at start-up, before any new run starts.
        """
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ?, error = ?"
                " WHERE status = 'running' RETURNING id",
                (self._clock.time(), error),
            )
            rows = await cursor.fetchall()
        return sorted(int(row[0]) for row in rows)

    # records

    async def add_records(self, records: Iterable[RecordEvent]) -> int:
        """Write a batch of record states in one transaction; a later state of the same
        ``(run_id, record_key)`` replaces the earlier one (keeping its payload if the new one has
        none). The number of records written."""
        now = self._clock.time()
        params = [
            (r.run_id, r.flow, r.record_key, r.content_hash, r.stage, r.status, r.error,
             r.payload, now)
            for r in records
        ]  # fmt: skip
        if not params:
            return 0
        async with self._db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO records (run_id, flow, record_key, content_hash, stage, status,"
                " error, payload, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id, record_key) DO UPDATE SET"
                " content_hash = excluded.content_hash, stage = excluded.stage,"
                " status = excluded.status, error = excluded.error,"
                " payload = COALESCE(excluded.payload, records.payload),"
                " updated_at = excluded.updated_at",
                params,
            )
        return len(params)

    async def records_for_run(
        self,
        run_id: int,
        *,
        status: str | None = None,
        after_id: int = 0,
        limit: int = -1,
    ) -> list[Record]:
        """Records of a run in insertion order (``limit=-1``: all); page with ``after_id`` = the
        last id seen."""
        where, params = _filters(run_id=run_id, status=status)
        rows = await self._all(
            f"SELECT {_RECORD_COLUMNS} FROM records{where} AND id > ? ORDER BY id LIMIT ?",
            (*params, after_id, limit),
        )
        return [_row(row, Record) for row in rows]

    async def iter_records(
        self, run_id: int, *, status: str | None = None, batch_size: int = 1000
    ) -> AsyncIterator[list[Record]]:
        """:meth:`records_for_run` in batches, for runs too large to hold in memory."""
        after = 0
        while batch := await self.records_for_run(
            run_id, status=status, after_id=after, limit=batch_size
        ):
            yield batch
            after = batch[-1].id

    async def record_history(self, flow: str, record_key: str) -> list[Record]:
        """Every run's state of one record, oldest first: its audit trail."""
        rows = await self._all(
            f"SELECT {_RECORD_COLUMNS} FROM records WHERE flow = ? AND record_key = ? ORDER BY id",
            (flow, record_key),
        )
        return [_row(row, Record) for row in rows]

    # watermarks

    async def get_watermark(self, flow: str) -> str | None:
        row = await self._one("SELECT value FROM watermarks WHERE flow = ?", (flow,))
        return str(row[0]) if row else None

    async def set_watermark(self, flow: str, value: str) -> None:
        await self._write(
            "INSERT INTO watermarks (flow, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (flow) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (flow, value, self._clock.time()),
        )

    async def watermarks(self) -> list[Watermark]:
        rows = await self._all("SELECT flow, value, updated_at FROM watermarks ORDER BY flow")
        return [_row(row, Watermark) for row in rows]

    # triggers

    async def add_trigger(self, flow: str, source: str) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO triggers (flow, requested_at, source) VALUES (?, ?, ?) RETURNING id",
                (flow, self._clock.time(), source),
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def pending_triggers(self, flow: str | None = None) -> list[Trigger]:
        """Triggers not consumed yet, oldest first."""
        where, params = _filters(flow=flow)
        rows = await self._all(
            f"SELECT id, flow, requested_at, source, consumed_at FROM triggers{where}"
            " AND consumed_at IS NULL ORDER BY id",
            params,
        )
        return [_row(row, Trigger) for row in rows]

    async def consume_triggers(self, ids: Iterable[int]) -> list[int]:
        """Mark triggers consumed; the ids this call consumed (not those consumed before)."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                f"UPDATE triggers SET consumed_at = ? WHERE id IN ({marks})"
                " AND consumed_at IS NULL RETURNING id",
                (self._clock.time(), *wanted),
            )
            rows = await cursor.fetchall()
        return sorted(int(row[0]) for row in rows)

    # anaplan tasks

    async def save_anaplan_task(
        self,
        *,
        model_id: str,
        action_id: str,
        task_id: str,
        state: str,
        run_id: int | None = None,
        flow: str | None = None,
    ) -> None:
        """Remember a task as soon as Anaplan returned its id; later calls update its state."""
        await self._write(
            "INSERT INTO anaplan_tasks (model_id, action_id, task_id, run_id, flow, state,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (model_id, action_id, task_id) DO UPDATE SET state = excluded.state",
            (model_id, action_id, task_id, run_id, flow, state, self._clock.time()),
        )

    async def finish_anaplan_task(
        self, *, model_id: str, action_id: str, task_id: str, state: str
    ) -> None:
        changed = await self._write(
            "UPDATE anaplan_tasks SET state = ?, finished_at = ?"
            " WHERE model_id = ? AND action_id = ? AND task_id = ?",
            (state, self._clock.time(), model_id, action_id, task_id),
        )
        if not changed:
            raise KeyError(f"no Anaplan task {task_id} of action {action_id} in model {model_id}")

    async def get_anaplan_task(
        self, *, model_id: str, action_id: str, task_id: str
    ) -> AnaplanTask | None:
        row = await self._one(
            "SELECT * FROM anaplan_tasks WHERE model_id = ? AND action_id = ? AND task_id = ?",
            (model_id, action_id, task_id),
        )
        return _row(row, AnaplanTask) if row else None

    async def open_anaplan_tasks(self, model_id: str | None = None) -> list[AnaplanTask]:
        """Tasks not finished yet, oldest first: what to reattach to after a restart."""
        where, params = _filters(model_id=model_id)
        rows = await self._all(
            f"SELECT * FROM anaplan_tasks{where} AND finished_at IS NULL ORDER BY created_at",
            params,
        )
        return [_row(row, AnaplanTask) for row in rows]

    # mappings

    async def upsert_mappings(self, kind: str, mapping: Mapping[str, str]) -> int:
        now = self._clock.time()
        params = [(kind, source, target, now) for source, target in mapping.items()]
        if params:
            async with self._db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO mappings (kind, source_code, target_code, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (kind, source_code) DO UPDATE SET"
                    " target_code = excluded.target_code, updated_at = excluded.updated_at",
                    params,
                )
        return len(params)

    async def get_mappings(self, kind: str) -> dict[str, str]:
        rows = await self._all(
            "SELECT source_code, target_code FROM mappings WHERE kind = ? ORDER BY source_code",
            (kind,),
        )
        return {str(row[0]): str(row[1]) for row in rows}

    async def get_mapping(self, kind: str, source_code: str) -> str | None:
        row = await self._one(
            "SELECT target_code FROM mappings WHERE kind = ? AND source_code = ?",
            (kind, source_code),
        )
        return str(row[0]) if row else None

    async def delete_mappings(self, kind: str, source_codes: Iterable[str]) -> int:
        codes = list(source_codes)
        if not codes:
            return 0
        async with self._db.transaction() as conn:
            cursor = await conn.executemany(
                "DELETE FROM mappings WHERE kind = ? AND source_code = ?",
                [(kind, code) for code in codes],
            )
            return cursor.rowcount

    # credentials (the vault's storage; values are ciphertext only)

    async def put_credential(
        self, name: str, *, key_id: str, nonce: bytes, ciphertext: bytes
    ) -> None:
        await self._write(
            "INSERT INTO credentials (name, key_id, nonce, ciphertext, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id,"
            " nonce = excluded.nonce, ciphertext = excluded.ciphertext,"
            " updated_at = excluded.updated_at",
            (name, key_id, nonce, ciphertext, self._clock.time()),
        )

    async def get_credential(self, name: str) -> StoredCredential | None:
        row = await self._one("SELECT * FROM credentials WHERE name = ?", (name,))
        return _row(row, StoredCredential) if row else None

    async def list_credentials(self) -> list[CredentialInfo]:
        rows = await self._all("SELECT name, key_id, updated_at FROM credentials ORDER BY name")
        return [_row(row, CredentialInfo) for row in rows]

    async def delete_credential(self, name: str) -> bool:
        return await self._write("DELETE FROM credentials WHERE name = ?", (name,)) > 0

    async def rewrite_credentials(
        self, rewrite: Callable[[StoredCredential], tuple[str, bytes, bytes]]
    ) -> int:
        """Replace every credential's ``(key_id, nonce, ciphertext)`` with ``rewrite(row)`` in one
        transaction; if ``rewrite`` raises for any row, nothing changes. The number rewritten."""
        now = self._clock.time()
        async with self._db.transaction() as conn:
            cursor = await conn.execute("SELECT * FROM credentials ORDER BY name")
            rows = [_row(row, StoredCredential) for row in await cursor.fetchall()]
            updates = [(*rewrite(row), now, row.name) for row in rows]
            await conn.executemany(
                "UPDATE credentials SET key_id = ?, nonce = ?, ciphertext = ?, updated_at = ?"
                " WHERE name = ?",
                updates,
            )
        return len(updates)

    # posting keys

    async def record_posting(
        self, posting_key: str, *, run_id: int, flow: str, target_ref: str | None = None
    ) -> bool:
        """Record that ``posting_key`` was written; False if it already was (do not post again)."""
        changed = await self._write(
            "INSERT INTO posting_keys (posting_key, run_id, flow, target_ref, posted_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (posting_key) DO NOTHING",
            (posting_key, run_id, flow, target_ref, self._clock.time()),
        )
        return changed > 0

    async def get_posting(self, posting_key: str) -> Posting | None:
        row = await self._one("SELECT * FROM posting_keys WHERE posting_key = ?", (posting_key,))
        return _row(row, Posting) if row else None


def _filters(**equal: object) -> tuple[str, list[object]]:
    """`` WHERE a = ? AND b = ?`` for the arguments that are not None (always a WHERE clause, so
    callers can append `` AND …``)."""
    used = {name: value for name, value in equal.items() if value is not None}
    clause = " AND ".join([f"{name} = ?" for name in used] or ["1 = 1"])
    return f" WHERE {clause}", list(used.values())
