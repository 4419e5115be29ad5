"""Reading an Anaplan export file as a stream of source values.

The export lands on disk as Anaplan wrote it (the chunks concatenated, reference §2 "Export
download"): a header row, then one row per populated cell. :func:`read_export` walks it with the
standard CSV reader, one row in memory at a time, and yields :class:`SourceValue` — the row's
text as exported, not yet typed, so that a row with a bad amount or an unknown period still
becomes a record with a key and an error instead of stopping the run. The header is matched to
the flow's ``columns``; a missing required header stops the run before anything is written,
naming the headers found.

A :class:`SourceValue` is also the record's replay payload (msgpack): everything a later run needs
to map and write it again, nothing that would go stale (no Epicor account, no posting key).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import msgspec

from mlc.errors import MlcError
from mlc.flows.outbound.options import REQUIRED_COLUMNS
from mlc.flows.records import content_hash, record_key

_ENCODER = msgspec.msgpack.Encoder()


class ExportFormatError(MlcError):
    """The export file is not what the flow's columns describe (the message says what and where)."""


class SourceValue(msgspec.Struct, frozen=True, kw_only=True):
    """One exported cell as text: Anaplan member codes, time member name, version, amount."""

    #: Line of the export file the row ended on (header = 1).
    line: int
    account: str
    cost_center: str
    period: str
    version: str
    amount: str
    #: Set when the row itself is malformed (wrong number of fields).
    error: str = ""

    def key(self, flow: str) -> str:
        """The record key: ``budget-to-gl:Budget|6100|21|Mar 26`` (Anaplan's coordinates)."""
        return record_key(flow, (self.version, self.account, self.cost_center, self.period))

    @property
    def content_hash(self) -> str:
        return content_hash(
            (self.version, self.account, self.cost_center, self.period, self.amount)
        )

    def encode(self) -> bytes:
        return _ENCODER.encode(self)


_DECODER = msgspec.msgpack.Decoder(SourceValue)


def decode_value(payload: bytes) -> SourceValue:
    return _DECODER.decode(payload)


def _positions(header: list[str], columns: Mapping[str, str], where: str) -> dict[str, int]:
    found = {name.strip().lstrip("\ufeff"): index for index, name in enumerate(header)}
    positions: dict[str, int] = {}
    missing: list[str] = []
    for field, name in columns.items():
        if name in found:
            positions[field] = found[name]
        elif field in REQUIRED_COLUMNS:
            missing.append(f"{name!r} ({field})")
    if missing:
        raise ExportFormatError(
            f"{where}: the header has no column {', '.join(missing)}; it has "
            f"{', '.join(repr(name) for name in found) or 'no columns'}: set the flow's columns"
        )
    return positions


def read_rows(
    lines: Iterable[str], columns: Mapping[str, str], default_version: str, where: str
) -> Iterator[SourceValue]:
    """Source values from the CSV text ``lines`` (header first), streamed.

    :param default_version: the version of rows when the export has no version column.
    :param where: names the file in errors (``export 'Export Approved Budget'``).
    """
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise ExportFormatError(f"{where}: the file is empty, not even a header row") from None
    except csv.Error as exc:
        raise ExportFormatError(f"{where}: line 1: {exc}") from None
    positions = _positions(header, columns, where)
    width = len(header)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ExportFormatError(f"{where}: line {reader.line_num}: {exc}") from None
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str, row: list[str] = row) -> str:
            index = positions.get(field)
            return row[index].strip() if index is not None and index < len(row) else ""

        error = ""
        if len(row) != width:
            error = f"line {reader.line_num}: {len(row)} fields, the header has {width}"
        yield SourceValue(
            line=reader.line_num,
            account=cell("account"),
            cost_center=cell("cost_center"),
            period=cell("period"),
            version=cell("version") or default_version,
            amount=cell("amount"),
            error=error,
        )


def read_export(
    path: Path, columns: Mapping[str, str], default_version: str, *, encoding: str, where: str
) -> Iterator[SourceValue]:
    """:func:`read_rows` over the file at ``path``, opened for the duration of the iteration."""
    with path.open(encoding=encoding, newline="", errors="strict") as file:
        try:
            yield from read_rows(file, columns, default_version, where)
        except UnicodeDecodeError as exc:
            raise ExportFormatError(
                f"{where}: not {encoding} text at byte {exc.start}: set the flow's encoding"
            ) from None
