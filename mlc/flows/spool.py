"""The upload spool: CSV rows streamed to a file on disk, one row in memory at a time.

Rows are written as they are mapped, so a run holds no more than the current batch however many
rows it moves. The Anaplan client then uploads the file as numbered chunks of at most 50 MB
before compression, gzip-compressed one at a time (:func:`mlc.anaplan.files.upload_file`), which
Anaplan concatenates (reference/anaplan.md §2 "Upload") — so chunk boundaries need not fall on
rows.

Beside the CSV, a **keys file** records, for every data row, the physical line it ends on
(1-based, the header being line 1), its record key and its content hash. Anaplan's failure dump
names a failed row by that line (``_Line_``), so :meth:`Spool.keys_for_lines` turns a dump back
into record keys by streaming the keys file, again without holding the run in memory.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

CSV_FILE = "rows.csv"
KEYS_FILE = "keys.tsv"


class SpoolEntry(NamedTuple):
    line: int
    key: str
    content_hash: str


class SpoolError(ValueError):
    """A row cannot be spooled (the message names it)."""


@dataclass(frozen=True)
class Spool:
    """A finished spool: what the upload and the failure mapping need."""

    directory: Path
    header: tuple[str, ...]
    rows: int
    #: Bytes of CSV, header included.
    size: int

    @property
    def csv_path(self) -> Path:
        return self.directory / CSV_FILE

    @property
    def keys_path(self) -> Path:
        return self.directory / KEYS_FILE

    def keys_for_lines(self, lines: Collection[int]) -> dict[int, str]:
        """``{line: record key}`` of the rows ending on ``lines`` (unknown lines are absent)."""
        wanted = set(lines)
        found: dict[int, str] = {}
        if not wanted:
            return found
        for entry in self.entries():
            if entry.line in wanted:
                found[entry.line] = entry.key
                if len(found) == len(wanted):
                    break
        return found

    def entries(self) -> Iterator[SpoolEntry]:
        """Every row's line, record key and content hash, in row order (streamed)."""
        with self.keys_path.open(encoding="utf-8") as file:
            for text in file:
                line, key, content_hash = text.rstrip("\n").split("\t")
                yield SpoolEntry(int(line), key, content_hash)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class SpoolWriter:
    """Writes one CSV file (and its keys file) into ``directory``, created if needed."""

    def __init__(self, directory: Path, header: Sequence[str]) -> None:
        self.directory = directory
        self.header = tuple(header)
        directory.mkdir(parents=True, exist_ok=True)
        self._file = (directory / CSV_FILE).open("wb")
        self._keys = (directory / KEYS_FILE).open("w", encoding="utf-8")
        self._size = 0
        self._rows = 0
        self._line = 0
        self._buffer = io.StringIO()
        # CRLF (RFC 4180): with both characters in the line terminator, the writer quotes any
        # value holding a CR or an LF, so no value can end a record early.
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        self._write(self.header)

    @property
    def rows(self) -> int:
        return self._rows

    def _write(self, values: Sequence[str]) -> None:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._csv.writerow(values)
        data = self._buffer.getvalue().encode("utf-8")
        self._file.write(data)
        self._size += len(data)
        # Lines as a universal-newline reader counts them (csv.reader's line_num, Anaplan's
        # _Line_): CRLF, lone CR and lone LF each end one.
        self._line += data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")

    def write(self, key: str, values: Sequence[str], content_hash: str = "") -> None:
        """Append one data row for record ``key``."""
        if len(values) != len(self.header):
            raise SpoolError(f"record {key}: {len(values)} values for {len(self.header)} columns")
        if any(c in text for text in (key, content_hash) for c in "\t\n"):
            raise SpoolError(f"record key {key!r} contains a tab or a newline")
        self._write(values)
        self._rows += 1
        self._keys.write(f"{self._line}\t{key}\t{content_hash}\n")

    def write_many(self, rows: Iterable[tuple[str, Sequence[str], str]]) -> None:
        for key, values, content_hash in rows:
            self.write(key, values, content_hash)

    def close(self) -> Spool:
        self._file.close()
        self._keys.close()
        return Spool(self.directory, self.header, self._rows, self._size)

    def abort(self) -> None:
        """Close and delete everything written."""
        self._file.close()
        self._keys.close()
        shutil.rmtree(self.directory, ignore_errors=True)
