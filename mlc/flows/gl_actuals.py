"""``gl-actuals``: Epicor GL period balances → an Anaplan module (``Load GL Actuals``).

Source: ``Erp.BO.GLPeriodBalSearchSvc/GLPeriodBalSearches`` rows (``GLPeriodBal``) of one book and
balance type, fiscal periods 1 and up (period 0 holds opening balances, which a monthly actuals
module does not take). A row's target cell is its natural account and cost center — segments of
``BalanceAcct`` chosen by ``account_segment`` / ``cost_center_segment`` — and its fiscal period;
other segments (the site) are summed away, because the module has no dimension for them.

Delta marker: ``GLPeriodBal`` has no ``ChangeDate``; its ``SysRevID`` is a rowversion incremented
on every write (reference/epicor.md §3), so rows with ``SysRevID`` above the watermark are exactly
the rows written since. The pull itself is in ``actors/epicor_pulls.py``; this module holds what is
specific to the flow and free of I/O: which rows, which cell, which key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from mlc.flows.aggregate import CellCoords, Fact
from mlc.flows.options import GlActualsOptions
from mlc.flows.records import record_key, to_micros


class BalanceRow(Protocol):
    """The ``GLPeriodBal`` columns the flow reads (``mlc.epicor.rows.GLPeriodBal`` fits)."""

    @property
    def Company(self) -> str: ...
    @property
    def BookID(self) -> str: ...
    @property
    def BalanceAcct(self) -> str: ...
    @property
    def BalanceType(self) -> str: ...
    @property
    def FiscalYear(self) -> int: ...
    @property
    def FiscalYearSuffix(self) -> str: ...
    @property
    def FiscalPeriod(self) -> int: ...
    @property
    def FiscalCalendarID(self) -> str: ...
    @property
    def BalanceAmt(self) -> Decimal: ...


def segment(account: str, position: int) -> str:
    """Segment ``position`` (1-based) of a ``|``-separated Epicor account; ``""`` if absent."""
    parts = account.split("|")
    return parts[position - 1] if 0 < position <= len(parts) else ""


def scope(company: str, book: str) -> str:
    return f"{company}|{book}"


def cell_key(flow: str, cell: CellCoords) -> str:
    """``gl-actuals:EPIC06|MAIN|6100|21|2026|3``."""
    return record_key(
        flow, (cell.scope, cell.account, cell.cost_center, cell.fiscal_year, cell.fiscal_period)
    )


def cell_of(options: GlActualsOptions, row: BalanceRow) -> CellCoords:
    return CellCoords(
        scope(row.Company, row.BookID),
        segment(row.BalanceAcct, options.account_segment),
        segment(row.BalanceAcct, options.cost_center_segment),
        row.FiscalYear,
        row.FiscalPeriod,
    )


def fact(options: GlActualsOptions, row: BalanceRow) -> Fact:
    """The row as a fact of its cell, keyed by the row's Epicor key."""
    source_key = "|".join(
        (
            row.Company,
            row.BookID,
            row.BalanceAcct,
            row.BalanceType,
            str(row.FiscalYear),
            row.FiscalYearSuffix,
            str(row.FiscalPeriod),
            row.FiscalCalendarID,
        )
    )
    return Fact(source_key, cell_of(options, row), to_micros(row.BalanceAmt))
