"""``gl-actuals``: Epicor GL period balances → an Anaplan module (``Load GL Actuals``).

Source: ``Erp.BO.GLPeriodBalSearchSvc/GLPeriodBalSearches`` rows (``GLPeriodBal``) of one book and
balance type, fiscal periods 1 and up (period 0 holds opening balances, which a monthly actuals
module does not take). A row's target cell is its natural account and cost center — segments of
``BalanceAcct`` chosen by ``account_segment`` / ``cost_center_segment`` — and its fiscal period;
other segments (the site) are summed away, because the module has no dimension for them.

Delta marker: ``GLPeriodBal`` has no ``ChangeDate``; its ``SysRevID`` is a rowversion incremented
on every write (reference/epicor.md §3), so rows with ``SysRevID`` above the watermark are exactly
the rows written since. The pull itself is in ``actors/epicor_pulls.py``; this module holds what is
specific to the flow and free of I/O: which rows, which cell, which key, which sign.

Sign convention (option ``sign_convention``): Epicor keeps balances in ledger sign, ``BalanceAmt`` =
debit - credit, so revenue, liabilities and equity are negative (reference/epicor.md §4), while an
FP&A model plans revenue positive. ``as-booked`` (the default) loads the ledger sign;
``credit-positive`` negates the cells of natural accounts whose normal balance is credit. The
normal balance is Epicor's own: ``COASegValues.NormalBalance`` (``D``/``C``) of the natural-account
segment, read once per run (:class:`Signs`). A natural account without one (empty, another letter,
or no segment value at all) keeps its ledger sign and is reported as a warning: quarantining the
cell would hold back an amount that is right for every debit-normal account, and guessing credit
from the account's category would be the connector's opinion, not the chart's. The sign is applied
to the summed cell, so a cell's ``amount`` — and the content hash of the row sent — is in the
flow's convention.

Switching the convention changes every credit cell, not only those a delta pull would read, so
the watermark carries the convention it was reached under (:func:`format_watermark`): a pull whose
configured convention differs from the watermark's reads everything again, as ``--full`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from mlc.errors import MlcError
from mlc.flows.aggregate import CellCoords, Fact
from mlc.flows.options import GlActualsOptions
from mlc.flows.records import record_key, to_micros
from mlc.messages import ChartValue

AS_BOOKED = "as-booked"
CREDIT_POSITIVE = "credit-positive"


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


@dataclass(frozen=True)
class Signs:
    """The sign each natural account's cells are loaded with, under one convention."""

    convention: str = AS_BOOKED
    #: Natural accounts whose normal balance is credit (negated under ``credit-positive``).
    credit: frozenset[str] = frozenset()
    #: Natural accounts whose normal balance is debit.
    debit: frozenset[str] = frozenset()

    @classmethod
    def from_chart(cls, convention: str, accounts: Iterable[ChartValue]) -> Signs:
        """From the natural-account segment values; ``NormalBalance`` is compared case-blind."""
        credit: set[str] = set()
        debit: set[str] = set()
        for value in accounts:
            normal = value.normal_balance.strip().upper()
            if normal == "C":
                credit.add(value.code)
            elif normal == "D":
                debit.add(value.code)
        return cls(convention, frozenset(credit), frozenset(debit))

    @property
    def reads_chart(self) -> bool:
        return self.convention == CREDIT_POSITIVE

    def unknown(self, account: str) -> bool:
        """Whether ``credit-positive`` cannot tell the account's normal balance (kept as booked)."""
        return self.reads_chart and account not in self.credit and account not in self.debit

    def apply(self, account: str, micros: int) -> int:
        """The cell amount of ``account`` in this convention (micro-units in, micro-units out)."""
        return -micros if self.reads_chart and account in self.credit else micros


def format_watermark(revision: int, convention: str) -> str:
    """``48213`` under ``as-booked`` (the format before conventions existed, so a stored
    watermark stays valid), ``48213 credit-positive`` otherwise."""
    return str(revision) if convention == AS_BOOKED else f"{revision} {convention}"


def parse_watermark(flow: str, text: str) -> tuple[int, str]:
    """``(SysRevID, sign convention)`` of a stored watermark; :class:`MlcError` naming the flow if
    it is not one this flow wrote."""
    revision, _, convention = text.strip().partition(" ")
    convention = convention.strip() or AS_BOOKED
    if not revision.isdigit() or convention not in (AS_BOOKED, CREDIT_POSITIVE):
        raise MlcError(
            f"watermark of flow {flow!r}: expected '<SysRevID>' or '<SysRevID> credit-positive', "
            f"got {text!r} (`mlc sync {flow} --full` reads everything and replaces it)"
        )
    return int(revision), convention
