"""Numbered schema migrations of the state database.

A migration is never edited once released: a change is a new migration appended to
:data:`MIGRATIONS`. :func:`migrate` applies every pending one in a single transaction (SQLite DDL is
transactional), so a failure leaves the database exactly as it was, and re-running is a no-op.
"""

from __future__ import annotations

import sqlite3

import aiosqlite
import anyio
import msgspec

from mlc.store.errors import StoreError


class Migration(msgspec.Struct, frozen=True):
    version: int
    name: str
    sql: str


_INITIAL = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flow TEXT NOT NULL,
    trigger TEXT NOT NULL,
    parent_run_id INTEGER REFERENCES runs (id),
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN
        ('running', 'succeeded', 'partial', 'failed', 'cancelled', 'interrupted')),
    read INTEGER NOT NULL DEFAULT 0,
    mapped INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    loaded INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX runs_by_flow ON runs (flow, started_at);
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';

CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    flow TEXT NOT NULL,
    record_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    payload BLOB,
    updated_at REAL NOT NULL,
    UNIQUE (run_id, record_key)
);
CREATE INDEX records_by_key ON records (flow, record_key);

CREATE TABLE watermarks (
    flow TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE triggers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flow TEXT NOT NULL,
    requested_at REAL NOT NULL,
    source TEXT NOT NULL,
    consumed_at REAL
);
CREATE INDEX triggers_pending ON triggers (flow) WHERE consumed_at IS NULL;

CREATE TABLE anaplan_tasks (
    model_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    run_id INTEGER REFERENCES runs (id),
    flow TEXT,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL,
    PRIMARY KEY (model_id, action_id, task_id)
);
CREATE INDEX anaplan_tasks_open ON anaplan_tasks (model_id) WHERE finished_at IS NULL;

CREATE TABLE credentials (
    name TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE mappings (
    kind TEXT NOT NULL,
    source_code TEXT NOT NULL,
    target_code TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (kind, source_code)
);

CREATE TABLE posting_keys (
    posting_key TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id),
    flow TEXT NOT NULL,
    target_ref TEXT,
    posted_at REAL NOT NULL
);
"""

MIGRATIONS: tuple[Migration, ...] = (Migration(1, "initial", _INITIAL),)

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""


def statements(sql: str) -> list[str]:
    """``sql`` split into complete statements (``executescript`` would commit mid-transaction)."""
    found: list[str] = []
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                found.append(pending.strip())
            pending = ""
    if pending.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL statement: {pending.strip()[:60]!r}")
    return found


def _check_sequence(migrations: tuple[Migration, ...]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must be 1, 2, 3, … without gaps, got {versions}")


async def current_version(conn: aiosqlite.Connection) -> int:
    cursor = await conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    )
    if await cursor.fetchone() is None:
        return 0
    cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(
    conn: aiosqlite.Connection,
    *,
    now: float,
    where: str,
    migrations: tuple[Migration, ...] = MIGRATIONS,
) -> int:
    """Bring the schema up to the last of ``migrations``; the version reached.

    ``conn`` must be in autocommit mode (``isolation_level=None``) and not in a transaction.
    """
    _check_sequence(migrations)
    latest = migrations[-1].version if migrations else 0
    await conn.execute("BEGIN IMMEDIATE")
    try:
        version = await current_version(conn)
        if version > latest:
            raise StoreError(
                f"{where}: schema version {version} is newer than this mlc understands "
                f"(up to {latest}); run a newer mlc or restore a backup of the state directory"
            )
        await conn.execute(_VERSION_TABLE)
        for migration in migrations[version:]:
            try:
                for statement in statements(migration.sql):
                    await conn.execute(statement)
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{where}: migration {migration.version} ({migration.name}) failed: {exc}"
                ) from exc
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, now),
            )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
    return max(version, latest)
