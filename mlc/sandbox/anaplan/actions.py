"""Import and export definitions: what the model builder set up, defined per model in seed data.

An import's column mapping is ``header name → target``. The chosen MODULE_DATA layout (one of the
two Anaplan offers) is *one column per dimension* (``Account``, ``Cost Center``, ``Period``,
``Version``) *plus one value column per line item*, headed by the line item's name; HIERARCHY_DATA
imports map ``Code``, ``Name``, ``Parent`` and property columns onto a list. Source columns are
matched by header name, so column order in the uploaded file does not matter and extra columns
are ignored; a mapped column missing from the file fails the whole task (unverified: Anaplan
reports a mapping mismatch as a task failure, help 721d3176 "Import mapping mismatch").

Exports are TABULAR_MULTI_COLUMN over one module and one version, one row per populated cell
combination, list members written by code, periods by name ("Jan 26"), line items as columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlc.sandbox.anaplan.model import ListDim, Model, Module, Version

LIST = "list"
TIME = "time"
VERSION = "version"
LINE_ITEM = "line_item"
CODE = "code"
NAME = "name"
PARENT = "parent"
PROPERTY = "property"


@dataclass(frozen=True)
class Column:
    header: str
    role: str
    ref: str = ""


@dataclass(frozen=True)
class ImportDefinition:
    id: str
    name: str
    import_type: str  # MODULE_DATA or HIERARCHY_DATA
    file_id: str
    target_id: str  # module id or list id
    columns: tuple[Column, ...]

    @property
    def header_names(self) -> list[str]:
        return [c.header for c in self.columns]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "importDataSourceId": self.file_id,
            "importType": self.import_type,
        }

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "FILE",
            "source": {
                "textEncoding": "UTF-8",
                "columnSeparator": ",",
                "textDelimiter": '"',
                "headerRow": 1,
                "firstDataRow": 2,
                "decimalSeparator": ".",
                "headerNames": self.header_names,
                "columnCount": len(self.columns),
            },
        }


@dataclass(frozen=True)
class ExportDefinition:
    id: str
    name: str
    module_id: str
    version_id: str
    columns: tuple[Column, ...]
    export_type: str = "TABULAR_MULTI_COLUMN"

    @property
    def header_names(self) -> list[str]:
        return [c.header for c in self.columns]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "exportType": self.export_type,
            "exportFormat": "text/csv",
            "encoding": "UTF-8",
            "layout": self.export_type,
        }

    def metadata(self, model: Model, row_count: int) -> dict[str, Any]:
        data_types: list[str] = []
        list_names: list[str] = []
        for column in self.columns:
            if column.role == LIST:
                data_types.append("ENTITY")
                list_names.append(model.lists[column.ref].name)
            elif column.role == TIME:
                data_types.append("TIME_ENTITY")
            elif column.role == VERSION:
                data_types.append("ENTITY")
            else:
                data_types.append("NUMBER")
        return {
            "columnCount": len(self.columns),
            "dataTypes": data_types,
            "delimiter": '"',
            "encoding": "UTF-8",
            "exportFormat": "text/csv",
            "headerNames": self.header_names,
            "listNames": list_names,
            "rowCount": row_count,
            "separator": ",",
            "layout": self.export_type,
        }


def module_import(
    import_id: str,
    name: str,
    file_id: str,
    module: Module,
    headers: dict[str, str],
) -> ImportDefinition:
    """A MODULE_DATA import; ``headers`` maps each list dimension's name to its column header."""
    columns = _module_columns(module, headers)
    return ImportDefinition(import_id, name, "MODULE_DATA", file_id, module.id, columns)


def _module_columns(module: Module, headers: dict[str, str]) -> tuple[Column, ...]:
    """The chosen module layout: list columns, Period, Version, one column per line item."""
    dims = [d for d in module.dimensions if isinstance(d, ListDim)]
    lists = [Column(headers[d.name], LIST, d.id) for d in dims]
    values = [Column(item.name, LINE_ITEM, item.name) for item in module.line_items]
    return (*lists, Column("Period", TIME), Column("Version", VERSION), *values)


def hierarchy_import(import_id: str, name: str, file_id: str, dim: ListDim) -> ImportDefinition:
    columns = [Column("Code", CODE), Column("Name", NAME)]
    if dim.parent is not None:
        columns.append(Column("Parent", PARENT, dim.parent.id))
    columns.extend(Column(prop, PROPERTY, prop) for prop in dim.property_names)
    return ImportDefinition(import_id, name, "HIERARCHY_DATA", file_id, dim.id, tuple(columns))


def module_export(
    export_id: str,
    name: str,
    module: Module,
    version: Version,
    headers: dict[str, str],
) -> ExportDefinition:
    columns = _module_columns(module, headers)
    return ExportDefinition(export_id, name, module.id, version.id, columns)
