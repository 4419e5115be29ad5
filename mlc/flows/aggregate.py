"""Summing source rows into target cells on disk, so memory stays flat however many rows come.

An Anaplan module cell (account, cost center, period, version) can gather several Epicor rows:
balances of the same natural account and cost center at different sites, or many AP invoice lines.
The rows arrive in the source's order, not grouped by cell, and a delta pull must re-sum a changed
cell from *all* its rows. Both are done here with a throw-away SQLite file beside the run's spool:

* :meth:`CellAggregator.add` stores each fact under its source row key (``INSERT OR REPLACE``), so
  a row seen twice during one pull — it changed while the pull paged — counts once, in its latest
  state;
* :meth:`CellAggregator.mark_affected` records which cells a delta touched;
* :meth:`CellAggregator.totals` streams ``SUM``/``COUNT`` per cell in cell order, optionally only
  for the affected cells, in batches.

SQLite spills to disk as needed, so the memory used is SQLite's page cache, not the row count. The
file is private to one pull and deleted by :meth:`CellAggregator.close`; the connection is used
from one thread at a time (the owning actor handles one message at a time), hence
``check_same_thread=False``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple


class CellCoords(NamedTuple):
    """Where a fact lands, in source terms; ``scope`` is the company and book (``EPIC06|MAIN``)."""

    scope: str
    account: str
    cost_center: str
    fiscal_year: int
    fiscal_period: int


class Fact(NamedTuple):
    """One source row: its key, its cell, its amount in micro-units and its document (or None)."""

    source_key: str
    cell: CellCoords
    micros: int
    document: str | None = None


class CellTotal(NamedTuple):
    cell: CellCoords
    micros: int
    rows: int
    documents: int


_SCHEMA = """
CREATE TABLE facts (
    source_key TEXT PRIMARY KEY,
    scope TEXT NOT NULL, account TEXT NOT NULL, cost_center TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL, fiscal_period INTEGER NOT NULL,
    micros INTEGER NOT NULL, document TEXT
);
CREATE TABLE affected (
    scope TEXT NOT NULL, account TEXT NOT NULL, cost_center TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL, fiscal_period INTEGER NOT NULL,
    PRIMARY KEY (scope, account, cost_center, fiscal_year, fiscal_period)
) WITHOUT ROWID;
"""

_CELL = "scope, account, cost_center, fiscal_year, fiscal_period"


class CellAggregator:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("PRAGMA cache_size = -16000")
        self._db.executescript(_SCHEMA)

    def add(self, facts: Iterable[Fact]) -> int:
        """Store facts (a repeated source key replaces the earlier fact); how many were given."""
        rows = [(f.source_key, *f.cell, f.micros, f.document) for f in facts]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                f"INSERT OR REPLACE INTO facts (source_key, {_CELL}, micros, document)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def mark_affected(self, cells: Iterable[CellCoords]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                f"INSERT OR IGNORE INTO affected ({_CELL}) VALUES (?, ?, ?, ?, ?)", list(cells)
            )

    def affected_periods(self) -> list[tuple[str, int, int]]:
        """``(scope, fiscal_year, fiscal_period)`` of every affected cell, sorted."""
        cursor = self._db.execute(
            "SELECT DISTINCT scope, fiscal_year, fiscal_period FROM affected ORDER BY 1, 2, 3"
        )
        return [(str(s), int(y), int(p)) for s, y, p in cursor.fetchall()]

    def affected_count(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM affected").fetchone()
        return int(row[0])

    def totals(self, *, only_affected: bool, batch_size: int = 1000) -> Iterator[list[CellTotal]]:
        """Per-cell sums in cell order, ``batch_size`` cells at a time."""
        where = f" WHERE ({_CELL}) IN (SELECT {_CELL} FROM affected)" if only_affected else ""
        cursor = self._db.execute(
            f"SELECT {_CELL}, SUM(micros), COUNT(*), COUNT(DISTINCT document) FROM facts{where}"
            f" GROUP BY {_CELL} ORDER BY {_CELL}"
        )
        while rows := cursor.fetchmany(batch_size):
            yield [
                CellTotal(CellCoords(s, a, c, int(y), int(p)), int(m), int(n), int(d))
                for s, a, c, y, p, m, n, d in rows
            ]

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)
