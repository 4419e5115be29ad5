from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from mlc.runtime.clock import ManualClock
from mlc.store import (
    MIGRATIONS,
    Migration,
    RecordEvent,
    RunCounts,
    Store,
    StoredCredential,
    StoreError,
)
from mlc.store.migrations import statements

START = 1_767_225_600.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }


def versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [
            row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")
        ]


@pytest.mark.anyio
async def test_open_creates_a_wal_database_with_the_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "state" / "mlc.db"
    async with await Store.open(path) as store:
        assert await store.settings() == {
            "journal_mode": "wal",
            "synchronous": 1,
            "foreign_keys": 1,
            "busy_timeout": 5000,
        }
        assert store.schema_version == MIGRATIONS[-1].version
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {
        "schema_version", "runs", "records", "watermarks", "triggers", "anaplan_tasks",
        "credentials", "mappings", "posting_keys",
    } <= tables(path)  # fmt: skip


@pytest.mark.anyio
async def test_migrating_again_is_a_no_op_and_data_survives(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "mlc.db"
    async with await Store.open(path, clock=clock) as store:
        await store.set_watermark("gl-actuals", "2026-01-31T00:00:00")
    async with await Store.open(path, clock=clock) as store:
        assert await store.get_watermark("gl-actuals") == "2026-01-31T00:00:00"
    assert versions(path) == [m.version for m in MIGRATIONS]


@pytest.mark.anyio
async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mlc.db"
    async with await Store.open(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 'future', 0)")
    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    assert str(caught.value) == (
        f"{path}: schema version 99 is newer than this mlc understands (up to "
        f"{MIGRATIONS[-1].version}); run a newer mlc or restore a backup of the state directory"
    )


@pytest.mark.anyio
async def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    broken = Migration(
        len(MIGRATIONS) + 1, "broken", "CREATE TABLE extra (a); INSERT INTO nowhere VALUES (1);"
    )
    path = tmp_path / "fresh.db"
    with pytest.raises(
        StoreError, match=rf"migration {broken.version} \(broken\) failed: no such table: nowhere"
    ):
        await Store.open(path, migrations=(*MIGRATIONS, broken))
    assert tables(path) == set()

    path = tmp_path / "current.db"
    async with await Store.open(path):
        pass
    with pytest.raises(StoreError):
        await Store.open(path, migrations=(*MIGRATIONS, broken))
    assert "extra" not in tables(path)
    assert versions(path) == [m.version for m in MIGRATIONS]


def test_statements_split_on_semicolons_outside_strings_and_trigger_bodies() -> None:
    sql = """
    CREATE TABLE t (a TEXT DEFAULT 'x;y');
    CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN UPDATE t SET a = 'b;c'; SELECT 1; END;
    ;
    """
    assert statements(sql) == [
        "CREATE TABLE t (a TEXT DEFAULT 'x;y');",
        "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN UPDATE t SET a = 'b;c'; SELECT 1; END;",
    ]
    with pytest.raises(ValueError, match="incomplete"):
        statements("SELECT 1; SELECT 'open")


@pytest.mark.anyio
async def test_runs_round_trip(tmp_path: Path, clock: ManualClock) -> None:
    async with await Store.open(tmp_path / "mlc.db", clock=clock) as store:
        first = await store.create_run("gl-actuals", "schedule")
        assert (first.status, first.started_at, first.finished_at, first.counts) == (
            "running",
            START,
            None,
            RunCounts(),
        )
        await store.update_run_counts(first.id, RunCounts(read=10))
        assert (await store.get_run(first.id)).counts.read == 10  # type: ignore[union-attr]
        await clock.advance(90)
        done = await store.finish_run(
            first.id,
            "partial",
            RunCounts(read=10, mapped=9, quarantined=1, loaded=9),
            error="1 unmapped",
        )
        assert (done.status, done.finished_at, done.error) == ("partial", START + 90, "1 unmapped")
        assert done.counts == RunCounts(read=10, mapped=9, quarantined=1, loaded=9, failed=0)
        replay = await store.create_run("gl-actuals", "replay", parent_run_id=first.id)
        other = await store.create_run("ap-spend", "signal")
        assert await store.get_run(first.id) == done
        assert await store.get_run(9999) is None
        assert [r.id for r in await store.list_runs()] == [other.id, replay.id, first.id]
        assert [r.id for r in await store.list_runs(flow="gl-actuals", limit=1)] == [replay.id]
        assert [r.id for r in await store.list_runs(status="partial")] == [first.id]
        assert replay.parent_run_id == first.id
        with pytest.raises(sqlite3.IntegrityError):
            await store.create_run("gl-actuals", "replay", parent_run_id=4242)
        with pytest.raises(sqlite3.IntegrityError):
            await store.finish_run(other.id, "exploded", RunCounts())  # type: ignore[arg-type]
        assert await store.interrupt_running_runs("process restarted") == [replay.id, other.id]
        interrupted = await store.get_run(other.id)
        assert interrupted is not None
        assert (interrupted.status, interrupted.error) == ("interrupted", "process restarted")
        with pytest.raises(KeyError):
            await store.finish_run(4242, "failed", RunCounts())


def event(run_id: int, key: str, **changes: object) -> RecordEvent:
    fields: dict[str, object] = {
        "run_id": run_id, "flow": "gl-actuals", "record_key": key, "content_hash": f"h-{key}",
        "stage": "read", "status": "ok", "payload": f"payload {key}".encode(),
    }  # fmt: skip
    fields.update(changes)
    return RecordEvent(**fields)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_records_batches_upserts_and_history(tmp_path: Path, clock: ManualClock) -> None:
    async with await Store.open(tmp_path / "mlc.db", clock=clock) as store:
        run = await store.create_run("gl-actuals", "manual")
        assert await store.add_records(event(run.id, f"K{i:03}") for i in range(250)) == 250
        assert await store.add_records([]) == 0
        await clock.advance(5)
        await store.add_records(
            [
                event(
                    run.id,
                    "K001",
                    stage="mapped",
                    status="quarantined",
                    error="no account 9999",
                    payload=None,
                ),
                event(run.id, "K002", stage="loaded", payload=b"new"),
            ]
        )
        quarantined = await store.records_for_run(run.id, status="quarantined")
        assert len(quarantined) == 1
        record = quarantined[0]
        assert (
            record.record_key,
            record.stage,
            record.error,
            record.payload,
            record.updated_at,
        ) == ("K001", "mapped", "no account 9999", b"payload K001", START + 5)
        assert (await store.records_for_run(run.id, status="ok", limit=3))[2].record_key == "K003"
        batches = [batch async for batch in store.iter_records(run.id, batch_size=100)]
        assert [len(b) for b in batches] == [100, 100, 50]
        assert [r.record_key for b in batches for r in b] == [f"K{i:03}" for i in range(250)]

        second = await store.create_run("gl-actuals", "replay", parent_run_id=run.id)
        await store.add_records([event(second.id, "K002", stage="loaded", content_hash="h2")])
        history = await store.record_history("gl-actuals", "K002")
        assert [(r.run_id, r.content_hash, r.payload) for r in history] == [
            (run.id, "h-K002", b"new"), (second.id, "h2", b"payload K002")
        ]  # fmt: skip

        with pytest.raises(sqlite3.IntegrityError):
            await store.add_records([event(second.id, "NEW1"), event(4242, "NEW2")])
        assert [r.record_key for r in await store.records_for_run(second.id)] == ["K002"]


@pytest.mark.anyio
async def test_concurrent_writers_do_not_share_a_transaction(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "mlc.db") as store:
        run = await store.create_run("ap-spend", "manual")

        async def writer(n: int) -> None:
            for batch in range(5):
                await store.add_records(event(run.id, f"W{n}-{batch}-{i}") for i in range(20))
            if n == 3:
                with pytest.raises(sqlite3.IntegrityError):
                    await store.add_records([event(run.id, "BAD-1"), event(4242, "BAD-2")])

        async with anyio.create_task_group() as tg:
            for n in range(8):
                tg.start_soon(writer, n)
        keys = [r.record_key for r in await store.records_for_run(run.id)]
        assert len(keys) == 8 * 5 * 20
        assert not any(key.startswith("BAD") for key in keys)


@pytest.mark.anyio
async def test_watermarks_and_triggers(tmp_path: Path, clock: ManualClock) -> None:
    async with await Store.open(tmp_path / "mlc.db", clock=clock) as store:
        assert await store.get_watermark("gl-actuals") is None
        await store.set_watermark("gl-actuals", "A")
        await clock.advance(1)
        await store.set_watermark("gl-actuals", "B")
        (mark,) = await store.watermarks()
        assert (mark.flow, mark.value, mark.updated_at) == ("gl-actuals", "B", START + 1)

        one = await store.add_trigger("gl-actuals", "mlc trigger")
        two = await store.add_trigger("ap-spend", "signal")
        three = await store.add_trigger("gl-actuals", "replay")
        assert [t.id for t in await store.pending_triggers()] == [one, two, three]
        assert [t.id for t in await store.pending_triggers("gl-actuals")] == [one, three]
        await clock.advance(1)
        assert await store.consume_triggers([one, three, 9999]) == [one, three]
        assert await store.consume_triggers([one]) == []
        assert await store.consume_triggers([]) == []
        (left,) = await store.pending_triggers()
        assert (left.id, left.source, left.consumed_at) == (two, "signal", None)


@pytest.mark.anyio
async def test_anaplan_tasks_mappings_and_postings(tmp_path: Path, clock: ManualClock) -> None:
    async with await Store.open(tmp_path / "mlc.db", clock=clock) as store:
        run = await store.create_run("gl-actuals", "manual")
        ids: dict[str, Any] = {"model_id": "M1", "action_id": "112000000001"}
        await store.save_anaplan_task(
            **ids, task_id="T1", state="NOT_STARTED", run_id=run.id, flow="gl-actuals"
        )
        await store.save_anaplan_task(**ids, task_id="T1", state="IN_PROGRESS")
        await store.save_anaplan_task(
            model_id="M2", action_id="116000000001", task_id="T2", state="IN_PROGRESS"
        )
        assert [t.task_id for t in await store.open_anaplan_tasks()] == ["T1", "T2"]
        await clock.advance(30)
        await store.finish_anaplan_task(**ids, task_id="T1", state="COMPLETE")
        task = await store.get_anaplan_task(**ids, task_id="T1")
        assert task is not None
        assert (task.state, task.run_id, task.flow, task.created_at, task.finished_at) == (
            "COMPLETE",
            run.id,
            "gl-actuals",
            START,
            START + 30,
        )
        assert [t.task_id for t in await store.open_anaplan_tasks("M1")] == []
        assert [t.task_id for t in await store.open_anaplan_tasks()] == ["T2"]
        with pytest.raises(KeyError):
            await store.finish_anaplan_task(**ids, task_id="T9", state="COMPLETE")

        assert await store.upsert_mappings("account", {"1000": "A-1000", "2000": "A-2000"}) == 2
        await store.upsert_mappings("account", {"2000": "A-2001"})
        await store.upsert_mappings("cost-center", {"1000": "CC-1"})
        assert await store.get_mappings("account") == {"1000": "A-1000", "2000": "A-2001"}
        assert await store.get_mapping("cost-center", "1000") == "CC-1"
        assert await store.delete_mappings("account", ["1000", "missing"]) == 1
        assert await store.get_mappings("account") == {"2000": "A-2001"}
        assert await store.get_mapping("account", "1000") is None

        assert await store.record_posting(
            "EPIC06|2026-01|1000", run_id=run.id, flow="budget-to-gl", target_ref="J1"
        )
        assert not await store.record_posting(
            "EPIC06|2026-01|1000", run_id=run.id, flow="budget-to-gl"
        )
        posting = await store.get_posting("EPIC06|2026-01|1000")
        assert posting is not None
        assert (posting.run_id, posting.target_ref, posting.posted_at) == (run.id, "J1", START + 30)
        assert await store.get_posting("other") is None


@pytest.mark.anyio
async def test_credential_rows_and_an_all_or_nothing_rewrite(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with await Store.open(tmp_path / "mlc.db", clock=clock) as store:
        await store.put_credential("a.x.password", key_id="k1", nonce=b"n" * 12, ciphertext=b"c1")
        await store.put_credential("b.y.api_key", key_id="k1", nonce=b"m" * 12, ciphertext=b"c2")
        assert [(c.name, c.key_id) for c in await store.list_credentials()] == [
            ("a.x.password", "k1"), ("b.y.api_key", "k1")
        ]  # fmt: skip

        def failing(row: StoredCredential) -> tuple[str, bytes, bytes]:
            if row.name == "b.y.api_key":
                raise ValueError("cannot decrypt")
            return "k2", b"z" * 12, b"new"

        with pytest.raises(ValueError):
            await store.rewrite_credentials(failing)
        assert {c.key_id for c in await store.list_credentials()} == {"k1"}
        await clock.advance(2)
        assert (
            await store.rewrite_credentials(lambda row: ("k2", b"z" * 12, row.ciphertext + b"!"))
            == 2
        )
        stored = await store.get_credential("a.x.password")
        assert stored is not None
        assert (stored.key_id, stored.nonce, stored.ciphertext, stored.updated_at) == (
            "k2",
            b"z" * 12,
            b"c1!",
            START + 2,
        )
        assert await store.delete_credential("a.x.password")
        assert not await store.delete_credential("a.x.password")
        assert await store.get_credential("a.x.password") is None


@pytest.mark.anyio
async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "mlc.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(
        StoreError, match=rf"the state database {path} is unusable: file is not a database"
    ):
        await Store.open(path)
