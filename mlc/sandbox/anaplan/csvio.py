"""Streaming CSV in and out of chunk files on disk.

An uploaded file is a sequence of chunk files; :func:`read_rows` reads them as one stream (a line
or a UTF-8 character may straddle two chunks, as it does when a client cuts a file at a byte
count) without loading the file into memory. :class:`ChunkedWriter` writes CSV straight into
chunk files of a fixed size, which is how export output and failure dumps are served.

Format decisions (unverified; the seeded files declare ``separator ","``, ``delimiter '"'``,
``encoding UTF-8``, ``headerRow 1``, ``firstDataRow 2``): a UTF-8 byte-order mark is tolerated,
undecodable bytes fail the whole import (Anaplan reports encoding problems as a task failure),
and output is written with minimal quoting and ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

MB = 1024 * 1024


class _ConcatenatedChunks(io.RawIOBase):
    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._current: io.BufferedReader | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while True:
            if self._current is None:
                if not self._paths:
                    return 0
                self._current = open(self._paths.pop(0), "rb")
            data = self._current.read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def read_rows(paths: Sequence[Path], separator: str = ",") -> Iterator[tuple[int, list[str]]]:
    """``(line_number, fields)`` for every record of the concatenated chunks (1-based lines).

    Raises ``UnicodeDecodeError`` or ``csv.Error`` when the file is not valid UTF-8 CSV.
    """
    raw = _ConcatenatedChunks(paths)
    text = io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text, delimiter=separator, quotechar='"', strict=True)
        for fields in reader:
            yield reader.line_num, fields
    finally:
        text.close()


def format_number(value: float) -> str:
    """Numbers as Anaplan writes them in CSV: no grouping, no trailing zeros."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


class ChunkedWriter:
    """CSV written straight into ``chunk-0``, ``chunk-1``… of at most ``chunk_bytes`` each."""

    def __init__(self, directory: Path, chunk_bytes: int) -> None:
        self.directory = directory
        self.chunk_bytes = max(1, chunk_bytes)
        directory.mkdir(parents=True, exist_ok=True)
        self.paths: list[Path] = []
        self.bytes_written = 0
        self.rows = 0
        self._file: io.BufferedWriter | None = None
        self._in_chunk = 0
        self._line = io.StringIO()
        self._csv = csv.writer(self._line, lineterminator="\n")

    def _write_bytes(self, data: bytes) -> None:
        while data:
            if self._file is None or self._in_chunk >= self.chunk_bytes:
                if self._file is not None:
                    self._file.close()
                path = self.directory / f"chunk-{len(self.paths)}"
                self.paths.append(path)
                self._file = open(path, "wb")
                self._in_chunk = 0
            room = self.chunk_bytes - self._in_chunk
            piece, data = data[:room], data[room:]
            self._file.write(piece)
            self._in_chunk += len(piece)
            self.bytes_written += len(piece)

    def write_row(self, fields: Iterable[str]) -> None:
        self._line.seek(0)
        self._line.truncate()
        self._csv.writerow(list(fields))
        self._write_bytes(self._line.getvalue().encode("utf-8"))
        self.rows += 1

    def close(self) -> list[Path]:
        if self._file is not None:
            self._file.close()
            self._file = None
        return self.paths
