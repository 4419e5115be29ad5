"""Summing mapped plan values into Epicor cells on disk, keeping which records fed each cell.

Anaplan may plan finer than Epicor budgets (two members mapped to one natural account), so an
Epicor cell — GL account x fiscal year x period — is the **sum** of the records mapped to it, and
its outcome (written, unchanged, failed) is the outcome of each of those records. Rows arrive in
export order, not grouped by cell; a throw-away SQLite file beside the run's download sums them
(``INSERT OR REPLACE`` by record key, so a record seen twice counts once) and streams the cells
back in ``(account, year, period)`` order, with their record keys, a batch at a time: memory stays
flat however large the export. The file is private to one run and deleted by :meth:`close`.

Amounts are integers of micro-units (:func:`mlc.flows.records.to_micros`), so sums are exact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from mlc.flows.outbound.periods import FiscalPeriod
from mlc.flows.records import from_micros, to_micros

_SEPARATOR = "\x1e"
_FIELD = "\x1f"
_SCHEMA = """
CREATE TABLE facts (
    record_key TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    gl_account TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL,
    fiscal_period INTEGER NOT NULL,
    micros INTEGER NOT NULL
);
CREATE INDEX facts_by_cell ON facts (gl_account, fiscal_year, fiscal_period);
"""


class Cell(NamedTuple):
    """One Epicor cell's total and the records summed into it: ``(key, content hash)``, sorted."""

    gl_account: str
    period: FiscalPeriod
    amount: Decimal
    records: tuple[tuple[str, str], ...]


class CellSums:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.executescript(_SCHEMA)
        self._pending: list[tuple[str, str, str, int, int, int]] = []

    def add(
        self,
        record_key: str,
        content_hash: str,
        gl_account: str,
        period: FiscalPeriod,
        amount: Decimal,
    ) -> None:
        self._pending.append(
            (record_key, content_hash, gl_account, period.year, period.period, to_micros(amount))
        )
        if len(self._pending) >= 1000:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?, ?)", self._pending
            )
        self._pending.clear()

    def count(self) -> int:
        self.flush()
        row = self._db.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM facts"
            " GROUP BY gl_account, fiscal_year, fiscal_period)"
        ).fetchone()
        return int(row[0])

    def periods(self) -> list[FiscalPeriod]:
        self.flush()
        rows = self._db.execute(
            "SELECT DISTINCT fiscal_year, fiscal_period FROM facts ORDER BY 1, 2"
        ).fetchall()
        return [FiscalPeriod(int(y), int(p)) for y, p in rows]

    def cells(
        self, *, period: FiscalPeriod | None = None, batch_size: int = 500
    ) -> Iterator[list[Cell]]:
        """Cells in ``(account, year, period)`` order, ``batch_size`` at a time."""
        self.flush()
        where = ""
        params: tuple[int, ...] = ()
        if period is not None:
            where = " WHERE fiscal_year = ? AND fiscal_period = ?"
            params = (period.year, period.period)
        cursor = self._db.execute(
            "SELECT gl_account, fiscal_year, fiscal_period, SUM(micros),"
            f" GROUP_CONCAT(record_key || '{_FIELD}' || content_hash, '{_SEPARATOR}')"
            f" FROM facts{where}"
            " GROUP BY gl_account, fiscal_year, fiscal_period ORDER BY 1, 2, 3",
            params,
        )
        while rows := cursor.fetchmany(batch_size):
            yield [
                Cell(
                    str(account),
                    FiscalPeriod(int(year), int(fp)),
                    from_micros(int(micros)),
                    tuple(sorted(_pair(item) for item in str(keys).split(_SEPARATOR))),
                )
                for account, year, fp, micros, keys in rows
            ]

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)


def _pair(item: str) -> tuple[str, str]:
    key, _, content_hash = item.partition(_FIELD)
    return key, content_hash
