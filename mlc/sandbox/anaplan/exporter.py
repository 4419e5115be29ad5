"""Running an export: read the module's cells for one version and write CSV chunks.

Rows are emitted for populated cells only (zero and blank suppressed — the usual filter on an
export's saved view), in list order then time order, with the definition's header names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mlc.sandbox.anaplan import actions
from mlc.sandbox.anaplan.actions import ExportDefinition
from mlc.sandbox.anaplan.csvio import ChunkedWriter, format_number
from mlc.sandbox.anaplan.model import ListDim, Model


def export_rows(model: Model, definition: ExportDefinition) -> Iterator[list[str]]:
    module = model.modules[definition.module_id]
    version_index = next(i for i, d in enumerate(module.dimensions) if d is model.versions)
    time_index = next(i for i, d in enumerate(module.dimensions) if d is model.time)
    positions = {d.id: i for i, d in enumerate(module.dimensions) if isinstance(d, ListDim)}
    version = model.versions.find(definition.version_id)
    for coords, values in module.ordered_cells():
        if coords[version_index] != definition.version_id:
            continue
        row: list[str] = []
        for column in definition.columns:
            if column.role == actions.LIST:
                dim = model.lists[column.ref]
                member = dim.members.get(coords[positions[column.ref]])
                row.append(member.code or member.name if member is not None else "")
            elif column.role == actions.TIME:
                period = model.time.by_id(coords[time_index])
                row.append(period.name if period is not None else "")
            elif column.role == actions.VERSION:
                row.append(version.name if version is not None else "")
            else:
                value = values.get(column.ref)
                if value is None:
                    row.append("")
                elif isinstance(value, float):
                    row.append(format_number(value))
                else:
                    row.append(value)
        yield row


def row_count(model: Model, definition: ExportDefinition) -> int:
    module = model.modules[definition.module_id]
    version_index = next(i for i, d in enumerate(module.dimensions) if d is model.versions)
    return sum(1 for coords in module.cells if coords[version_index] == definition.version_id)


def run_export(
    model: Model, definition: ExportDefinition, directory: Path, chunk_bytes: int
) -> tuple[list[Path], int]:
    writer = ChunkedWriter(directory, chunk_bytes)
    writer.write_row(definition.header_names)
    rows = 0
    for row in export_rows(model, definition):
        writer.write_row(row)
        rows += 1
    return writer.close(), rows
