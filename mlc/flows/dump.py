"""Reading an Anaplan import's failure dump back into per-row failures.

The dump is CSV: ``_Status_`` (``E`` error, ``W`` warning), the uploaded file's own columns,
``_Line_`` (the failed row's line in the uploaded file) and one or more ``_Error_N_`` columns with
the reason (help 720b2e7c / d43aa395; the column names are Anaplan Connect's, the sandbox writes the
same). Only the line and the errors matter here: the line leads back to the record key through the
spool's keys file. Rows are read as a stream from a file on disk.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from mlc.messages import RowFailure

LINE_COLUMN = "_Line_"
STATUS_COLUMN = "_Status_"


class DumpFormatError(ValueError):
    """The dump does not have the expected columns."""


def read_failures(path: Path) -> Iterator[RowFailure]:
    """Every error row of the dump at ``path`` (warnings are skipped)."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None:
            return
        if LINE_COLUMN not in header:
            raise DumpFormatError(f"failure dump without a {LINE_COLUMN} column: {header[:6]}")
        line_at = header.index(LINE_COLUMN)
        status_at = header.index(STATUS_COLUMN) if STATUS_COLUMN in header else None
        error_at = [i for i, name in enumerate(header) if name.startswith("_Error_")]
        for fields in reader:
            if not fields or line_at >= len(fields):
                continue
            if status_at is not None and fields[status_at].strip().upper() == "W":
                continue
            try:
                line = int(fields[line_at])
            except ValueError:
                raise DumpFormatError(
                    f"failure dump row with a non-numeric {LINE_COLUMN}: {fields[line_at]!r}"
                ) from None
            errors = [fields[i] for i in error_at if i < len(fields) and fields[i]]
            yield RowFailure(line=line, error="; ".join(errors) or "rejected by the import")
