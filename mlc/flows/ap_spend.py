"""``ap-spend``: Epicor AP invoice lines, summed per account, cost center and period.

Target: the Anaplan import ``Load AP Spend``. Source: ``Erp.BO.APInvoiceSvc`` — ``APInvDtls``
(lines: ``GLAccount``, ``ExtCost`` in the book currency) joined to ``APInvoices`` (headers:
``FiscalYear``, ``FiscalPeriod``, ``Posted``). A line's cell is the natural account and cost
center of its ``GLAccount`` and its invoice's fiscal period; ``invoice_count`` counts the
distinct invoices with a line in the cell.

Delta marker: both tables carry ``ChangeDate`` (reference/epicor.md §3), a timestamp compared with
``ge`` (see ``mlc.epicor.delta``): the rows at exactly the watermark are read again and skipped
downstream by their content hash. A change to a header (posted, moved to another period) or to a
line marks the invoice's whole period for re-summing. The pull is in ``actors/epicor_pulls.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from mlc.flows.aggregate import CellCoords, Fact
from mlc.flows.gl_actuals import segment
from mlc.flows.options import ApSpendOptions
from mlc.flows.records import record_key, to_micros


class InvoiceHeader(Protocol):
    """The ``APInvHed`` columns the flow reads (``mlc.epicor.rows.APInvHed`` fits)."""

    @property
    def Company(self) -> str: ...
    @property
    def VendorNum(self) -> int: ...
    @property
    def InvoiceNum(self) -> str: ...
    @property
    def FiscalYear(self) -> int: ...
    @property
    def FiscalPeriod(self) -> int: ...
    @property
    def Posted(self) -> bool: ...


class InvoiceLine(Protocol):
    """The ``APInvDtl`` columns the flow reads (``mlc.epicor.rows.APInvDtl`` fits)."""

    @property
    def Company(self) -> str: ...
    @property
    def VendorNum(self) -> int: ...
    @property
    def InvoiceNum(self) -> str: ...
    @property
    def InvoiceLine(self) -> int: ...
    @property
    def GLAccount(self) -> str: ...
    @property
    def ExtCost(self) -> Decimal: ...


def invoice_id(company: str, vendor: int, invoice: str) -> str:
    return f"{company}|{vendor}|{invoice}"


def cell_key(flow: str, cell: CellCoords) -> str:
    """``ap-spend:EPIC06|6300|12|2026|3``."""
    return record_key(
        flow, (cell.scope, cell.account, cell.cost_center, cell.fiscal_year, cell.fiscal_period)
    )


def counts(options: ApSpendOptions, header: InvoiceHeader) -> bool:
    """Whether the invoice's lines count as spend."""
    return header.Posted or not options.posted_only


def fact(options: ApSpendOptions, line: InvoiceLine, header: InvoiceHeader) -> Fact:
    document = invoice_id(line.Company, line.VendorNum, line.InvoiceNum)
    cell = CellCoords(
        line.Company,
        segment(line.GLAccount, options.account_segment),
        segment(line.GLAccount, options.cost_center_segment),
        header.FiscalYear,
        header.FiscalPeriod,
    )
    return Fact(f"{document}|{line.InvoiceLine}", cell, to_micros(line.ExtCost), document)
