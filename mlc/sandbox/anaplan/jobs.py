"""Building the jobs that go on a model's queue: imports, exports and lock-holding runs.

Failure dumps (help d43aa395): one per user and import — a new dump replaces the user's previous
one for that import (whose task then answers 404 on ``…/dump``), and a clean run of the import
removes it.
"""

from __future__ import annotations

import shutil
from typing import Any

from mlc.sandbox.anaplan.actions import ExportDefinition, ImportDefinition
from mlc.sandbox.anaplan.exporter import run_export
from mlc.sandbox.anaplan.importer import run_import
from mlc.sandbox.anaplan.state import ModelState, Tenant
from mlc.sandbox.anaplan.tasks import Actor, Job, Prepared


def _actor(email: str, tenant: Tenant) -> Actor:
    user = tenant.directory.by_email(email)
    return Actor(email, user.display_name if user is not None else email)


def import_job(tenant: Tenant, state: ModelState, definition: ImportDefinition, email: str) -> Job:
    job = Job(
        "import",
        "Import",
        definition.id,
        definition.name,
        _actor(email, tenant),
        tenant.now(),
        _noop,
    )

    def prepare() -> Prepared:
        injected = tenant.take_injected(definition.id, definition.name)
        stored = state.files.files.get(definition.file_id)
        content = stored.visible(email) if stored is not None else None
        dump_dir = tenant.root / "runs" / job.task_id / "dump"
        outcome = run_import(
            state.model, definition, content, dump_dir, tenant.options.dump_chunk_bytes, injected
        )

        def finish() -> dict[str, Any]:
            changes = outcome.apply()
            if changes:
                state.model.touch(tenant.now(), email)
            tenant.counters.bump("import_rows", outcome.rows)
            key = (email, definition.id)
            previous = state.latest_dump.pop(key, None)
            if previous is not None:
                old = state.dumps.pop(previous, None)
                if old is not None:
                    shutil.rmtree(old[0], ignore_errors=True)
            if outcome.dump is not None:
                state.dumps[job.task_id] = outcome.dump
                state.latest_dump[key] = job.task_id
            result: dict[str, Any] = {
                "details": outcome.details,
                "failureDumpAvailable": outcome.dump is not None,
                "objectId": definition.id,
                "successful": outcome.successful,
            }
            return result

        def discard() -> None:
            shutil.rmtree(dump_dir, ignore_errors=True)

        return Prepared(outcome.rows, finish, discard)

    job.prepare = prepare
    return job


def export_job(tenant: Tenant, state: ModelState, definition: ExportDefinition, email: str) -> Job:
    job = Job(
        "export",
        "Export",
        definition.id,
        definition.name,
        _actor(email, tenant),
        tenant.now(),
        _noop,
    )

    def prepare() -> Prepared:
        injected = tenant.take_injected(definition.id, definition.name)
        directory = tenant.root / "runs" / job.task_id / "export"
        if injected is not None and injected.mode == "fail":
            return Prepared(0, lambda: _failed(definition.id, injected.message))
        paths, rows = run_export(
            state.model, definition, directory, tenant.options.export_chunk_bytes
        )

        def finish() -> dict[str, Any]:
            stored = state.files.files[definition.id]
            state.files.publish(stored, email, directory, paths)
            tenant.counters.bump("export_rows", rows)
            return {"failureDumpAvailable": False, "objectId": definition.id, "successful": True}

        def discard() -> None:
            shutil.rmtree(directory, ignore_errors=True)

        return Prepared(rows, finish, discard)

    job.prepare = prepare
    return job


def hold_job(
    tenant: Tenant,
    kind: str,
    label: str,
    object_id: str,
    object_name: str,
    email: str,
    seconds: float,
) -> Job:
    """A job that only holds the model lock for ``seconds``.

    Used for another user's action and for CloudWorks runs.
    """

    def prepare() -> Prepared:
        return Prepared(
            0,
            lambda: {"failureDumpAvailable": False, "objectId": object_id, "successful": True},
            duration=seconds,
        )

    return Job(kind, label, object_id, object_name, _actor(email, tenant), tenant.now(), prepare)


def _failed(object_id: str, message: str) -> dict[str, Any]:
    return {
        "details": [
            {"type": "exportFailed", "localMessageText": message, "occurrences": 0, "values": []}
        ],
        "failureDumpAvailable": False,
        "objectId": object_id,
        "successful": False,
    }


def _noop() -> Prepared:
    raise AssertionError("job prepared before its factory set prepare")
