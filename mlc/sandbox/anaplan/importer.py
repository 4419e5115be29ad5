"""Running an import: parse the uploaded CSV by the definition's column mapping, stage the writes,
report per-row failures in the task result ``details`` and in a failure dump.

Staged writes are applied only when the task completes; a cancelled task never applies them
("CANCELLED: the task has been canceled and the changes have been rolled back", help 0cccdcec).

Failure reporting (shapes from help 0cccdcec / d43aa395 and the community spec; wording of the
messages is unverified and chosen to read like Anaplan's): a row whose member, period or version is
unknown, or whose number does not parse, is skipped and counted as failed; the import still
completes with ``successful: true`` and ``failureDumpAvailable: true`` — a partial success, as
CloudWorks reports it (``executionErrorCode`` 38, success true). The dump is CSV with the columns
``_Status_``, the source columns, ``_Line_`` and ``_Error_1_``. A problem with the file as a whole
(not uploaded or incomplete, not UTF-8, malformed CSV, a mapped column missing) fails the task:
``successful: false``, nothing written.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlc.sandbox.anaplan import actions
from mlc.sandbox.anaplan.actions import ImportDefinition
from mlc.sandbox.anaplan.csvio import ChunkedWriter, read_rows
from mlc.sandbox.anaplan.files import Content
from mlc.sandbox.anaplan.model import CellValue, ListDim, Model, Module

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Injected:
    """A task failure injected through the control API."""

    mode: str  # "fail" or "partial"
    every: int = 10
    message: str = "The server encountered an internal error while running the import."


@dataclass
class Outcome:
    successful: bool
    rows: int
    details: list[dict[str, Any]]
    apply: Callable[[], int]
    dump: tuple[Path, list[Path]] | None = None


@dataclass
class _Tally:
    total: int = 0
    failed: int = 0
    ignored: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    samples: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    def fail(self, kind: str, message: str, values: list[str]) -> str:
        self.kinds[kind] += 1
        self.samples.setdefault(kind, (message, values))
        return message

    def failure_details(self) -> list[dict[str, Any]]:
        return [
            {
                "type": kind,
                "localMessageText": self.samples[kind][0],
                "occurrences": count,
                "values": self.samples[kind][1],
            }
            for kind, count in self.kinds.items()
        ]


def fatal(message: str, kind: str = "importFailed") -> Outcome:
    detail = {"type": kind, "localMessageText": message, "occurrences": 0, "values": []}
    return Outcome(False, 0, [detail], lambda: 0)


class _Dump:
    def __init__(self, directory: Path, chunk_bytes: int, header: list[str]) -> None:
        self.directory = directory
        self.chunk_bytes = chunk_bytes
        self.header = header
        self.writer: ChunkedWriter | None = None

    def row(self, fields: list[str], line: int, error: str) -> None:
        if self.writer is None:
            self.writer = ChunkedWriter(self.directory, self.chunk_bytes)
            self.writer.write_row(["_Status_", *self.header, "_Line_", "_Error_1_"])
        padded = fields + [""] * (len(self.header) - len(fields))
        self.writer.write_row(["E", *padded[: len(self.header)], str(line), error])

    def close(self) -> tuple[Path, list[Path]] | None:
        if self.writer is None:
            return None
        return self.directory, self.writer.close()


def run_import(
    model: Model,
    definition: ImportDefinition,
    content: Content | None,
    dump_directory: Path,
    dump_chunk_bytes: int,
    injected: Injected | None = None,
) -> Outcome:
    if injected is not None and injected.mode == "fail":
        return fatal(injected.message)
    if content is None or not content.complete:
        return fatal(
            f"The import data source file {definition.file_id} has not been uploaded completely.",
            "fileNotComplete",
        )
    try:
        rows = read_rows(content.paths())
        first = next(rows, None)
        if first is None:
            return fatal("The import data source file is empty.", "fileEmpty")
        header = [h.strip() for h in first[1]]
        positions = {name: pos for pos, name in enumerate(header)}
        missing = [c.header for c in definition.columns if c.header not in positions]
        if missing:
            return fatal(
                "Column(s) not found in the source file: " + ", ".join(missing), "mappingMismatch"
            )
        dump = _Dump(dump_directory, dump_chunk_bytes, header)
        every = injected.every if injected is not None and injected.mode == "partial" else 0
        if definition.import_type == "HIERARCHY_DATA":
            return _hierarchy(model, definition, rows, positions, dump, every)
        return _module_data(model, definition, rows, positions, dump, every)
    except (UnicodeDecodeError, csv.Error) as exc:
        return fatal(f"The import data source file could not be read: {exc}", "fileUnreadable")


def _blank(fields: list[str]) -> bool:
    return all(not f.strip() for f in fields)


def _field(fields: list[str], pos: int) -> str:
    return fields[pos].strip() if pos < len(fields) else ""


def _module_data(
    model: Model,
    definition: ImportDefinition,
    rows: Iterator[tuple[int, list[str]]],
    positions: dict[str, int],
    dump: _Dump,
    every: int,
) -> Outcome:
    module = model.modules[definition.target_id]
    tally = _Tally()
    staged: dict[tuple[tuple[str, ...], str], CellValue | None] = {}
    dim_columns = {col.ref: col for col in definition.columns if col.role == actions.LIST}
    time_col = next(c for c in definition.columns if c.role == actions.TIME)
    version_col = next(c for c in definition.columns if c.role == actions.VERSION)
    value_cols = [c for c in definition.columns if c.role == actions.LINE_ITEM]
    for line, fields in rows:
        if _blank(fields):
            tally.ignored += 1
            continue
        tally.total += 1
        error = None
        if every and tally.total % every == 0:
            error = tally.fail("rowRejected", "Row rejected by sandbox fault injection", [])
        coords: list[str] = []
        for dim in module.dimensions:
            if error is not None:
                break
            if isinstance(dim, ListDim):
                value = _field(fields, positions[dim_columns[dim.id].header])
                member = dim.find(value)
                if member is None:
                    error = tally.fail(
                        f"invalidListItem:{dim.name}",
                        f"Item not located in {dim.name} list: {value}",
                        ["listName", dim.name, "item", value],
                    )
                else:
                    coords.append(member.id)
            elif dim is model.time:
                value = _field(fields, positions[time_col.header])
                period = model.time.find(value)
                if period is None:
                    error = tally.fail(
                        "invalidTimePeriod", f"Item not located in Time: {value}", ["item", value]
                    )
                else:
                    coords.append(period.id)
            else:
                value = _field(fields, positions[version_col.header])
                version = model.versions.find(value)
                if version is None:
                    error = tally.fail(
                        "invalidVersion", f"Item not located in Versions: {value}", ["item", value]
                    )
                else:
                    coords.append(version.id)
        values: list[tuple[str, CellValue | None]] = []
        for col in value_cols:
            if error is not None:
                break
            raw = _field(fields, positions[col.header])
            parsed = _parse_value(module, col.ref, raw)
            if isinstance(parsed, _Invalid):
                error = tally.fail(
                    "invalidNumber",
                    f"Invalid number for line item {col.ref}: {raw}",
                    ["lineItem", col.ref, "value", raw],
                )
            else:
                values.append((col.ref, parsed))
        if error is not None:
            tally.failed += 1
            dump.row(fields, line, error)
            continue
        key = tuple(coords)
        for name, cell in values:
            staged[key, name] = cell

    def apply() -> int:
        return sum(1 for (key, name), value in staged.items() if module.write(key, name, value))

    ok = tally.total - tally.failed
    summary = {
        "type": "moduleDataRowsProcessed",
        "localMessageText": (
            f"{module.name}: {ok} ({tally.failed}/{tally.total}) rows successful, "
            f"{tally.ignored} ignored "
        ),
        "occurrences": 0,
        "values": [
            "moduleName",
            module.name,
            "successRowCount",
            str(ok),
            "failedCount",
            str(tally.failed),
            "ignoredCount",
            str(tally.ignored),
            "totalRowCount",
            str(tally.total + tally.ignored),
        ],
    }
    dumped = dump.close()
    return Outcome(True, tally.total, [summary, *tally.failure_details()], apply, dumped)


class _Invalid:
    pass


def _parse_value(module: Module, line_item: str, raw: str) -> CellValue | _Invalid | None:
    item = module.line_item(line_item)
    if raw == "":
        return None
    if item is not None and item.format == "TEXT":
        return raw
    if not _NUMBER.match(raw):
        return _Invalid()
    return float(raw)


def _hierarchy(
    model: Model,
    definition: ImportDefinition,
    rows: Iterator[tuple[int, list[str]]],
    positions: dict[str, int],
    dump: _Dump,
    every: int,
) -> Outcome:
    dim = model.lists[definition.target_id]
    tally = _Tally()
    by_role = {col.role: col for col in definition.columns}
    props = [c for c in definition.columns if c.role == actions.PROPERTY]
    staged: dict[str, tuple[str, str | None, dict[str, str]]] = {}
    staged_names: dict[str, str] = {}
    created = updated = 0
    for line, fields in rows:
        if _blank(fields):
            tally.ignored += 1
            continue
        tally.total += 1
        error = None
        code = _field(fields, positions[by_role[actions.CODE].header])
        name = _field(fields, positions[by_role[actions.NAME].header])
        parent_id: str | None = None
        if every and tally.total % every == 0:
            error = tally.fail("rowRejected", "Row rejected by sandbox fault injection", [])
        elif not code:
            error = tally.fail("blankCode", "Code is blank", [])
        elif not name:
            error = tally.fail("blankName", f"Name is blank for code {code}", ["code", code])
        else:
            owner = staged_names.get(name)
            existing = dim.by_name(name)
            if (owner is not None and owner != code) or (
                owner is None and existing is not None and existing.code != code
            ):
                error = tally.fail(
                    "duplicateName",
                    f"Name already used by another item in {dim.name}: {name}",
                    ["listName", dim.name, "item", name],
                )
        if error is None and PARENT_ROLE in by_role and dim.parent is not None:
            parent_value = _field(fields, positions[by_role[PARENT_ROLE].header])
            if parent_value:
                parent = dim.parent.find(parent_value)
                if parent is None:
                    error = tally.fail(
                        f"invalidListItem:{dim.parent.name}",
                        f"Item not located in {dim.parent.name} list: {parent_value}",
                        ["listName", dim.parent.name, "item", parent_value],
                    )
                else:
                    parent_id = parent.id
        if error is not None:
            tally.failed += 1
            dump.row(fields, line, error)
            continue
        properties = {p.ref: _field(fields, positions[p.header]) for p in props}
        if code not in staged:
            if dim.by_code(code) is None:
                created += 1
            else:
                updated += 1
        staged[code] = (name, parent_id, properties)
        staged_names[name] = code

    def apply() -> int:
        changes = 0
        for code, (name, parent_id, properties) in staged.items():
            member = dim.by_code(code)
            if member is None:
                dim.add(name, code, parent_id, properties)
                changes += 1
            elif dim.update(member, name, parent_id, properties):
                changes += 1
        return changes

    ok = tally.total - tally.failed
    summary = {
        "type": "hierarchyRowsProcessed",
        "localMessageText": (
            f"{dim.name}: {ok} ({created}/{updated}) rows successful, {tally.ignored} ignored "
        ),
        "occurrences": 0,
        "values": [
            "hierarchyName",
            dim.name,
            "successRowCount",
            str(ok),
            "successCreateCount",
            str(created),
            "successUpdateCount",
            str(updated),
            "warningsRowCount",
            "0",
            "failedCount",
            str(tally.failed),
            "ignoredCount",
            str(tally.ignored),
            "totalRowCount",
            str(tally.total + tally.ignored),
            "createdCount",
            str(created),
            "updatedCount",
            str(updated),
        ],
    }
    dumped = dump.close()
    return Outcome(True, tally.total, [summary, *tally.failure_details()], apply, dumped)


PARENT_ROLE = actions.PARENT
