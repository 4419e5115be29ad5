"""gl-actuals sign conventions end to end: Epicor sandbox → actors → Anaplan sandbox, real HTTP.

The shipped config loads ``credit-positive``: a revenue cell in Anaplan's ``Export GL Actuals`` is
the negated sum of its Epicor balances, to the cent, an expense cell the sum as booked. Switching
the convention reloads every cell once; an account whose normal balance Epicor does not hold keeps
its ledger sign and is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from msgspec.structs import replace

pytestmark = pytest.mark.anyio

CENT = Decimal("0.01")
Cell = tuple[str, str, int, int]


def cents(values: dict[Cell, Decimal]) -> dict[Cell, Decimal]:
    return {cell: value.quantize(CENT) for cell, value in values.items() if value != 0}


def use_convention(inbound, convention: str) -> None:  # type: ignore[no-untyped-def]
    flows = inbound.config.flows
    spec = flows["gl-actuals"]
    options = {**spec.options, "sign_convention": convention}
    inbound.config = replace(
        inbound.config, flows={**flows, "gl-actuals": replace(spec, options=options)}
    )


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def warnings_of(logger: str) -> Iterator[list[logging.LogRecord]]:
    handler = Records()
    target = logging.getLogger(logger)
    target.addHandler(handler)
    try:
        yield handler.records
    finally:
        target.removeHandler(handler)


async def test_revenue_arrives_negated_and_expenses_as_booked_to_the_cent(inbound) -> None:
    assert inbound.configured_convention() == "credit-positive", "the shipped config"
    async with inbound.tree() as tree:
        results = await tree.run_flows(["coa-align", "gl-actuals"])
        assert [r.status for r in results] == ["succeeded", "succeeded"], [r.error for r in results]
        anaplan = await inbound.anaplan_gl_cells(tree)
    ledger = await inbound.epicor_cells("as-booked")
    normal = await inbound.normal_balances()
    assert (normal["4000"], normal["2000"], normal["6100"]) == ("C", "C", "D")

    revenue = [cell for cell in ledger if cell[0] == "4000" and ledger[cell] != 0]
    expense = [cell for cell in ledger if cell[0] == "6100" and ledger[cell] != 0]
    assert revenue and expense
    for cell in revenue:
        assert ledger[cell] < 0, "Epicor books revenue as a credit"
        assert anaplan[cell].quantize(CENT) == (-ledger[cell]).quantize(CENT)
    for cell in expense:
        assert ledger[cell] > 0
        assert anaplan[cell].quantize(CENT) == ledger[cell].quantize(CENT)
    expected = {
        cell: -amount if normal[cell[0]] == "C" else amount for cell, amount in ledger.items()
    }
    assert cents(anaplan) == cents(expected)
    assert all(anaplan[cell] > 0 for cell in ledger if cell[0] == "2000" and ledger[cell] < 0)
    watermark = await inbound.store.get_watermark("gl-actuals")
    assert watermark is not None and watermark.endswith(" credit-positive")


async def test_switching_the_convention_reloads_every_cell_once(inbound) -> None:
    use_convention(inbound, "as-booked")
    async with inbound.tree() as tree:
        results = await tree.run_flows(["coa-align", "gl-actuals"])
        assert [r.status for r in results] == ["succeeded", "succeeded"], [r.error for r in results]
        booked = await inbound.anaplan_gl_cells(tree)
    ledger = await inbound.epicor_cells("as-booked")
    assert cents(booked) == cents(ledger)
    watermark = await inbound.store.get_watermark("gl-actuals")
    assert watermark is not None and watermark.isdigit()

    use_convention(inbound, "credit-positive")
    async with inbound.tree() as tree:
        [switched] = await tree.run_flows(["gl-actuals"])  # no --full, nothing changed in Epicor
        assert switched.status == "succeeded", switched.error
        assert switched.tally.loaded == len(ledger), "every cell reloaded, not only changed ones"
        positive = await inbound.anaplan_gl_cells(tree)
        [again] = await tree.run_flows(["gl-actuals"])
        assert again.status == "succeeded", again.error
        assert (again.tally.read, again.tally.loaded) == (0, 0), "then deltas as before"
    assert cents(positive) == cents(await inbound.epicor_cells("credit-positive"))
    assert cents(positive) != cents(booked)
    after = await inbound.store.get_watermark("gl-actuals")
    assert after == f"{watermark} credit-positive"


async def test_an_account_without_a_normal_balance_keeps_its_ledger_sign(inbound) -> None:
    await inbound.set_normal_balance("4200", "")
    normal = await inbound.normal_balances()
    assert (normal["4200"], normal["4000"]) == ("", "C")
    with warnings_of("mlc.flows") as warnings:
        async with inbound.tree() as tree:
            results = await tree.run_flows(["coa-align", "gl-actuals"])
            assert [r.status for r in results] == ["succeeded", "succeeded"], [
                r.error for r in results
            ]
            anaplan = await inbound.anaplan_gl_cells(tree)
    ledger = await inbound.epicor_cells("as-booked")
    unsigned = {cell for cell in ledger if cell[0] == "4200"}
    assert unsigned and all(ledger[cell] < 0 for cell in unsigned)
    for cell in unsigned:
        assert anaplan[cell].quantize(CENT) == ledger[cell].quantize(CENT), "kept as booked"
    for cell in (cell for cell in ledger if cell[0] == "4000"):
        assert anaplan[cell].quantize(CENT) == (-ledger[cell]).quantize(CENT)
    [warning] = [r for r in warnings if r.getMessage() == "normal_balance_unknown"]
    fields = vars(warning)
    assert fields["flow"] == "gl-actuals" and fields["coa"] == "MAIN"
    assert fields["accounts"] == ["4200"] and fields["account_count"] == 1
    assert fields["cells"] == len(unsigned)
    assert fields["loaded_as"] == "as-booked"
