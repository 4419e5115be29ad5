"""The inbound pulls: which Epicor requests a run makes, page by page, into a cell aggregator.

Each pull is an async generator of progress (phase, source rows so far) that the EpicorPoller
advances a few pages per message, so a long pull never blocks the poller's mailbox for its whole
length and the FlowRunner can report progress. The flow-specific, I/O-free parts (which cell a row
lands in, record keys) are in ``mlc.flows.gl_actuals`` and ``mlc.flows.ap_spend``.

**gl-actuals.** A *full* pull (no watermark yet, or ``--full``) reads every balance of the book,
balance type and periods 1.. in ``SysRevID`` order with keyset paging (``SysRevID gt last``), so
a row written during the pull gets a newer revision and is read later in the same pull; the
watermark is the largest revision read. A *delta* pull first reads the rows with ``SysRevID`` above
the watermark (phase ``changes``), marks their cells, then re-reads the periods of those cells
(phase ``cells``, keyset by the entity key) so each changed cell is summed from all its rows —
other sites' balances included. Only the marked cells are emitted. With ``sign_convention =
"credit-positive"`` the pull first reads the natural-account values of the chart (``read_chart``,
the same read as ``coa-align``) for their normal balance, and emits each cell in that convention;
a watermark reached under another convention makes the pull a full one (see
:mod:`mlc.flows.gl_actuals`).

**ap-spend.** Headers carry the period and the posted flag, lines the account and amount, both a
``ChangeDate``. A delta pull reads headers and lines changed since the watermark minus
``LOOKBACK`` (timestamps can tie, and a row written while a pull pages can be stamped before the
largest date the pull saw: re-reading a short window costs a few rows that the content hash then
skips), and collects the periods of the invoices they belong to; a full pull collects the periods
of every (posted) invoice. Each period is then summed from scratch: its invoices, then their lines
in batches of ``INVOICES_PER_REQUEST`` per request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from mlc.epicor import entities, rows
from mlc.epicor.client import EpicorClient
from mlc.epicor.delta import REVISION
from mlc.epicor.entities import EntitySet
from mlc.epicor.paging import PagingMode
from mlc.epicor.query import Value, all_of, any_of, compare
from mlc.flows import ap_spend, gl_actuals
from mlc.flows.aggregate import CellAggregator, CellTotal
from mlc.flows.options import ApSpendOptions, CoaAlignOptions, GlActualsOptions
from mlc.flows.records import from_micros
from mlc.messages import Chart, ChartValue, SourceCell

Progress = tuple[str, int]
#: Flows whose options name a chart and its natural-account and cost-center segments.
ChartOptions = CoaAlignOptions | GlActualsOptions

log = logging.getLogger("mlc.flows")
#: Natural accounts named in the ``normal_balance_unknown`` warning (the count is always whole).
NAMED_ACCOUNTS = 20

#: Balances in revision order: the delta marker doubles as the (unique) paging key.
BALANCES_BY_REVISION = EntitySet(
    entities.GL_PERIOD_BALANCES.service,
    entities.GL_PERIOD_BALANCES.name,
    rows.GLPeriodBal,
    ("SysRevID",),
    delta=REVISION,
)
LOOKBACK = timedelta(minutes=5)
INVOICES_PER_REQUEST = 10


class InboundPull:
    """What the poller needs of a pull: progress steps, then cells, then the new watermark."""

    mode: str
    watermark: str | None

    def __init__(self, flow: str, directory: Path) -> None:
        self.flow = flow
        self.directory = directory
        self.aggregator = CellAggregator(directory / "cells.sqlite")
        self.rows = 0

    def steps(self) -> AsyncGenerator[Progress, None]:
        raise NotImplementedError

    def _cell(self, total: CellTotal) -> SourceCell:
        raise NotImplementedError

    def _only_affected(self) -> bool:
        return False

    def cells(self, batch_size: int) -> Iterator[list[SourceCell]]:
        for batch in self.aggregator.totals(
            only_affected=self._only_affected(), batch_size=batch_size
        ):
            yield [self._cell(total) for total in batch]

    def close(self) -> None:
        self.aggregator.close()


class GlActualsPull(InboundPull):
    def __init__(
        self,
        flow: str,
        directory: Path,
        client: EpicorClient,
        options: GlActualsOptions,
        watermark: str | None,
        full: bool,
    ) -> None:
        super().__init__(flow, directory)
        self.client = client
        self.options = options
        self.signs = gl_actuals.Signs(options.sign_convention)
        self._revision: int | None = None
        self.since: int | None = None
        if watermark is not None:
            self._revision, convention = gl_actuals.parse_watermark(flow, watermark)
            if not full and convention == options.sign_convention:
                self.since = self._revision
            elif not full:
                log.info(
                    "sign_convention_changed",
                    extra={"flow": flow, "was": convention, "now": options.sign_convention},
                )
        self.mode = "full" if self.since is None else "delta"
        self.watermark = watermark
        self._unknown_accounts: set[str] = set()
        self._unknown_cells = 0

    def _scope_filter(self) -> str | None:
        options = self.options
        return all_of(
            compare("BookID", "eq", options.book),
            compare("BalanceType", "eq", options.balance_type),
            compare("FiscalPeriod", "ge", 1),
            compare("FiscalYear", "ge", options.from_fiscal_year)
            if options.from_fiscal_year is not None
            else None,
        )

    def _only_affected(self) -> bool:
        return self.mode == "delta"

    def _seen(self, revision: int) -> None:
        if self._revision is None or revision > self._revision:
            self._revision = revision
        self.watermark = gl_actuals.format_watermark(self._revision, self.options.sign_convention)

    async def steps(self) -> AsyncGenerator[Progress, None]:
        if self._revision is not None:
            self._seen(self._revision)
        if self.signs.reads_chart:
            chart = await read_chart(self.client, self.options, cost_centers=False)
            self.signs = gl_actuals.Signs.from_chart(self.options.sign_convention, chart.accounts)
            yield "chart", self.rows
        where = self._scope_filter()
        phase = "all" if self.mode == "full" else "changes"
        async for page in self.client.pages(
            BALANCES_BY_REVISION,
            where=where,
            changed_since=self.since,
            paging=PagingMode.KEYSET,
        ):
            self.rows += len(page)
            for row in page:
                self._seen(row.SysRevID)
            if self.mode == "full":
                self.aggregator.add(gl_actuals.fact(self.options, row) for row in page)
            else:
                self.aggregator.mark_affected(gl_actuals.cell_of(self.options, row) for row in page)
            yield phase, self.rows
        if self.mode == "full":
            return
        for _scope, year, period in self.aggregator.affected_periods():
            # Pinned key columns stay out of the keyset predicate, so the server can seek to the
            # period instead of scanning every book and year for each page.
            pinned: dict[str, Value] = {
                "BookID": self.options.book,
                "BalanceType": self.options.balance_type,
                "FiscalYear": year,
                "FiscalPeriod": period,
            }
            async for page in self.client.pages(
                entities.GL_PERIOD_BALANCES, equal=pinned, paging=PagingMode.KEYSET
            ):
                self.rows += len(page)
                self.aggregator.add(gl_actuals.fact(self.options, row) for row in page)
                yield "cells", self.rows

    def cells(self, batch_size: int) -> Iterator[list[SourceCell]]:
        yield from super().cells(batch_size)
        if self._unknown_cells:
            accounts = sorted(self._unknown_accounts)
            log.warning(
                "normal_balance_unknown",
                extra={
                    "flow": self.flow,
                    "coa": self.options.coa,
                    "cells": self._unknown_cells,
                    "account_count": len(accounts),
                    "accounts": accounts[:NAMED_ACCOUNTS],
                    "loaded_as": gl_actuals.AS_BOOKED,
                },
            )

    def _cell(self, total: CellTotal) -> SourceCell:
        cell = total.cell
        if self.signs.unknown(cell.account):
            self._unknown_accounts.add(cell.account)
            self._unknown_cells += 1
        return SourceCell(
            key=gl_actuals.cell_key(self.flow, cell),
            scope=cell.scope,
            account=cell.account,
            cost_center=cell.cost_center,
            fiscal_year=cell.fiscal_year,
            fiscal_period=cell.fiscal_period,
            amount=from_micros(self.signs.apply(cell.account, total.micros)),
            rows=total.rows,
            documents=total.documents,
        )


class ApSpendPull(InboundPull):
    def __init__(
        self,
        flow: str,
        directory: Path,
        client: EpicorClient,
        options: ApSpendOptions,
        watermark: str | None,
        full: bool,
    ) -> None:
        super().__init__(flow, directory)
        self.client = client
        self.options = options
        self.since = None if full or watermark is None else datetime.fromisoformat(watermark)
        self.mode = "full" if self.since is None else "delta"
        self.watermark = watermark
        self._latest: datetime | None = (
            None if watermark is None else datetime.fromisoformat(watermark)
        )

    def _seen(self, changed: datetime | None) -> None:
        if changed is not None and (self._latest is None or changed > self._latest):
            self._latest = changed
            self.watermark = changed.isoformat()

    def _header_filter(self) -> str | None:
        options = self.options
        return all_of(
            compare("Posted", "eq", True) if options.posted_only else None,
            compare("FiscalYear", "ge", options.from_fiscal_year)
            if options.from_fiscal_year is not None
            else None,
        )

    async def steps(self) -> AsyncGenerator[Progress, None]:
        periods: set[tuple[int, int]] = set()
        phase = "all" if self.mode == "full" else "changes"
        since = self.since - LOOKBACK if self.since is not None else None
        header_filter = self._header_filter() if self.mode == "full" else None
        async for page in self.client.pages(
            entities.AP_INVOICES, where=header_filter, changed_since=since
        ):
            self.rows += len(page)
            for header in page:
                self._seen(header.ChangeDate)
                periods.add((header.FiscalYear, header.FiscalPeriod))
            yield phase, self.rows
        if self.mode == "delta":
            invoices: set[tuple[int, str]] = set()
            async for lines in self.client.pages(entities.AP_INVOICE_LINES, changed_since=since):
                self.rows += len(lines)
                for line in lines:
                    self._seen(line.ChangeDate)
                    invoices.add((line.VendorNum, line.InvoiceNum))
                yield phase, self.rows
            for vendor, invoice in sorted(invoices):
                found = await self.client.find(
                    entities.AP_INVOICES, (self.client.settings.company, vendor, invoice)
                )
                if found is not None:
                    periods.add((found.FiscalYear, found.FiscalPeriod))
        for year, period in sorted(periods):
            async for progress in self._sum_period(year, period):
                yield progress

    async def _sum_period(self, year: int, period: int) -> AsyncGenerator[Progress, None]:
        headers: dict[tuple[int, str], rows.APInvHed] = {}
        where = all_of(
            self._header_filter(),
            compare("FiscalYear", "eq", year),
            compare("FiscalPeriod", "eq", period),
        )
        async for page in self.client.pages(entities.AP_INVOICES, where=where):
            self.rows += len(page)
            for header in page:
                if ap_spend.counts(self.options, header):
                    headers[(header.VendorNum, header.InvoiceNum)] = header
            yield "cells", self.rows
        keys = sorted(headers)
        for start in range(0, len(keys), INVOICES_PER_REQUEST):
            batch = keys[start : start + INVOICES_PER_REQUEST]
            which = any_of(
                *(
                    all_of(compare("VendorNum", "eq", vendor), compare("InvoiceNum", "eq", number))
                    or ""
                    for vendor, number in batch
                )
            )
            async for lines in self.client.pages(entities.AP_INVOICE_LINES, where=which):
                self.rows += len(lines)
                self.aggregator.add(
                    ap_spend.fact(self.options, line, headers[(line.VendorNum, line.InvoiceNum)])
                    for line in lines
                    if (line.VendorNum, line.InvoiceNum) in headers
                )
                yield "cells", self.rows

    def _cell(self, total: CellTotal) -> SourceCell:
        cell = total.cell
        return SourceCell(
            key=ap_spend.cell_key(self.flow, cell),
            scope=cell.scope,
            account=cell.account,
            cost_center=cell.cost_center,
            fiscal_year=cell.fiscal_year,
            fiscal_period=cell.fiscal_period,
            amount=from_micros(total.micros),
            rows=total.rows,
            documents=total.documents,
        )


async def read_chart(
    client: EpicorClient, options: ChartOptions, *, cost_centers: bool = True
) -> Chart:
    """The natural-account and (unless ``cost_centers`` is false) cost-center values of the chart
    (``COASegValues``), active or not."""
    segments = {options.account_segment: "accounts"}
    if cost_centers:
        segments[options.cost_center_segment] = "cost_centers"
    where = all_of(
        compare("COACode", "eq", options.coa),
        any_of(*(compare("SegmentNbr", "eq", number) for number in sorted(segments))),
    )
    found: dict[str, list[ChartValue]] = {"accounts": [], "cost_centers": []}
    async for page in client.pages(entities.COA_SEG_VALUES, where=where, paging=PagingMode.KEYSET):
        for value in page:
            found[segments[value.SegmentNbr]].append(
                ChartValue(
                    code=value.SegmentCode,
                    name=value.SegmentName or value.SegmentDesc,
                    category=value.Category if value.SegmentNbr == options.account_segment else "",
                    normal_balance=value.NormalBalance,
                    active=value.ActiveFlag,
                )
            )
    return Chart(accounts=tuple(found["accounts"]), cost_centers=tuple(found["cost_centers"]))
