"""ap-spend end to end: AP invoice lines summed per account, cost center and period, then only
the cells whose lines changed are sent again."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from mlc.epicor import entities
from mlc.epicor.auth import BasicAuthenticator
from mlc.epicor.client import EpicorClient
from mlc.epicor.transport import EpicorSettings
from mlc.http import HttpConnection

pytestmark = pytest.mark.anyio

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
Row = tuple[str, str, str, str, str, str]


async def expected_rows(
    inbound,
) -> tuple[dict[tuple[str, str, str], Row], list[tuple[int, str, int, str]]]:
    """The ``Load AP Spend`` rows Epicor's posted invoices should produce, by (account, cost
    center, period), and the lines' keys with their cell's period name."""
    urls = inbound.sandbox.urls["epicor"]
    async with HttpConnection("epicor.check", str(urls["base_url"]), system="epicor") as http:
        auth = BasicAuthenticator(
            "epicor.check", str(urls["user"]), str(urls["password"]), str(urls["api_key"])
        )
        client = EpicorClient(http, auth, EpicorSettings("epicor.check", str(urls["company"])))
        headers = {
            (h.VendorNum, h.InvoiceNum): h
            async for h in client.rows(entities.AP_INVOICES)
            if h.Posted
        }
        spend: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        invoices: dict[tuple[str, str, str], set[tuple[int, str]]] = defaultdict(set)
        lines = []
        async for line in client.rows(entities.AP_INVOICE_LINES):
            header = headers.get((line.VendorNum, line.InvoiceNum))
            if header is None:
                continue
            natural, center, _ = line.GLAccount.split("|")
            period = f"{MONTHS[header.FiscalPeriod - 1]} {header.FiscalYear % 100:02d}"
            cell = (natural, center, period)
            spend[cell] += line.ExtCost
            invoices[cell].add((line.VendorNum, line.InvoiceNum))
            lines.append((line.VendorNum, line.InvoiceNum, line.InvoiceLine, period))
    rows = {
        cell: (cell[0], cell[1], cell[2], "Actual", f"{amount:.2f}", str(len(invoices[cell])))
        for cell, amount in spend.items()
    }
    return rows, lines


def as_rows(uploaded: list[dict[str, str]]) -> dict[tuple[str, str, str], Row]:
    return {
        (r["Account"], r["Cost Center"], r["Period"]): (
            r["Account"], r["Cost Center"], r["Period"], r["Version"],
            f"{Decimal(r['Spend']):.2f}", r["Invoice Count"],
        )
        for r in uploaded
    }  # fmt: skip


async def test_sums_lines_per_cell_then_sends_only_the_changed_cell(inbound) -> None:
    async with inbound.tree() as tree:
        first = await tree.run_flows(["coa-align", "ap-spend"])
        assert [r.status for r in first] == ["succeeded", "succeeded"], [r.error for r in first]
        expected, lines = await expected_rows(inbound)
        assert as_rows(await inbound.uploaded_rows("AP Spend.csv")) == expected
        assert first[-1].tally.loaded == len(expected)

        await inbound.reset_counters("anaplan")
        [second] = await tree.run_flows(["ap-spend"])
        assert second.status == "succeeded", second.error
        assert second.tally.loaded == 0
        assert await inbound.count("POST", "/tasks") == 0

        vendor, invoice, line, _ = lines[0]
        await inbound.control(
            "epicor",
            "epicor/mutate",
            {
                "set": "APInvDtls",
                "keys": [{"VendorNum": vendor, "InvoiceNum": invoice, "InvoiceLine": line}],
                "amount": "250.00",
            },
        )
        [third] = await tree.run_flows(["ap-spend"])
    assert third.status == "succeeded", third.error
    assert third.tally.loaded == 1
    changed, _ = await expected_rows(inbound)
    uploaded = as_rows(await inbound.uploaded_rows("AP Spend.csv"))
    [(cell, row)] = uploaded.items()
    assert row == changed[cell] != expected[cell]
