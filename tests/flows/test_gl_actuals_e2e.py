"""gl-actuals end to end: Epicor sandbox → actors → Anaplan sandbox, over real HTTP.

Acceptance 1 (values to the cent), 2 (delta: nothing, then exactly the changed cells), 3 (unknown
codes quarantined, audited, absent in Anaplan, the rest loaded), and the watermark rule (a failed
run leaves it where it was; a partial failure dump is audited per row).
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal

import anyio
import pytest

from mlc.cli.demo import SHIPPED_CONFIG
from mlc.sandbox.common.chart import ANAPLAN_LAGS_BEHIND as LAGGING

pytestmark = pytest.mark.anyio

CENT = Decimal("0.01")


Cell = tuple[str, str, int, int]


def cents(values: dict[Cell, Decimal]) -> dict[Cell, Decimal]:
    return {cell: value.quantize(CENT) for cell, value in values.items() if value != 0}


def key(cell: Cell) -> str:
    account, center, year, period = cell
    return f"gl-actuals:EPIC06|MAIN|{account}|{center}|{year}|{period}"


async def test_loads_balances_to_the_cent_and_quarantines_unknown_codes(inbound) -> None:
    async with inbound.tree() as tree:
        [result] = await tree.run_flows(["gl-actuals"])
        epicor = await inbound.epicor_cells()
        anaplan = await inbound.anaplan_gl_cells(tree)
    mapped = {cell: value for cell, value in epicor.items() if inbound.anaplan_has(cell)}
    unknown = {cell for cell in epicor if not inbound.anaplan_has(cell)}
    assert unknown, "the sandbox should hold balances on codes Anaplan lacks"
    assert any(cell[1] in ("38", "39") for cell in unknown), "an unknown cost center"

    assert result.status == "partial", result.error
    assert result.tally.loaded == len(mapped)
    assert result.tally.quarantined == len(unknown)
    assert result.tally.failed == 0
    # Acceptance 1: the export equals Epicor for every mapped cell, to the cent; nothing else.
    assert cents(anaplan) == cents(mapped)
    assert not any(not inbound.anaplan_has(cell) for cell in anaplan)

    quarantined = await inbound.store.records_for_run(result.run_id, status="quarantined")
    assert {record.record_key for record in quarantined} == {key(cell) for cell in unknown}
    for record in quarantined:
        account, center = record.record_key.split("|")[2:4]
        assert record.error is not None
        if account in LAGGING["Accounts"]:
            assert f"Epicor account '{account}'" in record.error
        if center in LAGGING["Cost Centers"]:
            assert f"Epicor cost center '{center}'" in record.error
        assert record.payload, "a quarantined record keeps what a retry needs"
    assert await inbound.store.get_watermark("gl-actuals") is not None

    # `mlc audit show` lists them with their reason.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env.update(inbound.config_env)
    shown = await anyio.run_process(
        [sys.executable, "-m", "mlc", "audit", "show", str(result.run_id), "--status",
         "quarantined", "--config", str(SHIPPED_CONFIG)],
        env=env,
        check=False,
    )  # fmt: skip
    output = shown.stdout.decode()
    assert shown.returncode == 0, shown.stderr.decode()
    for cell in unknown:
        assert key(cell) in output
    assert "no member in Anaplan list 'Cost Centers'" in output


async def test_second_run_sends_nothing_then_exactly_the_ten_changed_balances(inbound) -> None:
    async with inbound.tree() as tree:
        first = await tree.run_flows(["gl-actuals", "coa-align"])
        assert [r.flow for r in first] == ["coa-align", "gl-actuals"], "coa-align runs first"
        assert [r.status for r in first] == ["succeeded", "succeeded"], [r.error for r in first]

        await inbound.reset_counters("anaplan")
        [second] = await tree.run_flows(["gl-actuals"])
        assert second.status == "succeeded", second.error
        assert (second.tally.read, second.tally.loaded) == (0, 0)
        assert await inbound.count("PUT", "/chunks/{chunk_id}") == 0
        assert await inbound.count("POST", "/tasks") == 0

        # Ten balances in ten different cells, all in months (periods 1..12).
        chosen: dict[Cell, str] = {}
        for account, year, period, _ in await inbound.epicor_balances():
            natural, center, _site = account.split("|")
            chosen.setdefault((natural, center, year, period), account)
            if len(chosen) == 10:
                break
        keys = [
            {"BalanceAcct": account, "FiscalYear": cell[2], "FiscalPeriod": cell[3]}
            for cell, account in chosen.items()
        ]
        answer = await inbound.control(
            "epicor",
            "epicor/mutate",
            {"set": "GLPeriodBalSearches", "keys": keys, "amount": "1234.56"},
        )
        assert len(answer["changed"]) == 10

        await inbound.reset_counters("anaplan")
        [third] = await tree.run_flows(["gl-actuals"])
        assert third.status == "succeeded", third.error
        assert (third.tally.read, third.tally.loaded, third.tally.failed) == (10, 10, 0)
        assert await inbound.count("POST", "/tasks") == 1
        loaded = await inbound.store.records_for_run(third.run_id, status="ok")
        assert {record.record_key for record in loaded} == {key(cell) for cell in chosen}

        epicor = await inbound.epicor_cells()
        anaplan = await inbound.anaplan_gl_cells(tree)
    assert cents(anaplan) == cents(epicor)  # coa-align added the missing members: all mapped
    for cell in chosen:
        assert anaplan[cell].quantize(CENT) == epicor[cell].quantize(CENT)


async def test_failed_import_leaves_the_watermark_and_dump_rows_are_audited(inbound) -> None:
    async with inbound.tree() as tree:
        first = (await tree.run_flows(["coa-align", "gl-actuals"]))[-1]
        assert first.status == "succeeded", first.error
        before = await inbound.store.get_watermark("gl-actuals")
        balances = (await inbound.epicor_balances())[:20]
        keys = [{"BalanceAcct": a, "FiscalYear": y, "FiscalPeriod": p} for a, y, p, _ in balances]
        await inbound.control(
            "epicor", "epicor/mutate", {"set": "GLPeriodBalSearches", "keys": keys, "amount": 10}
        )

        await inbound.control(
            "anaplan",
            "faults",
            {"kind": "task_failure", "mode": "fail", "action": "Load GL Actuals", "count": 1},
        )
        [failed] = await tree.run_flows(["gl-actuals"])
        assert failed.status == "failed"
        assert failed.error is not None and "Load GL Actuals" in failed.error
        assert await inbound.store.get_watermark("gl-actuals") == before
        rows = await inbound.store.records_for_run(failed.run_id, status="failed")
        assert len(rows) == failed.tally.failed > 0

        await inbound.control(
            "anaplan",
            "faults",
            {"kind": "task_failure", "mode": "partial", "every": 3, "action": "Load GL Actuals"},
        )
        [partial] = await tree.run_flows(["gl-actuals"])
        assert partial.status == "partial", partial.error
        assert partial.tally.failed > 0
        assert partial.tally.loaded + partial.tally.failed == failed.tally.failed
        assert await inbound.store.get_watermark("gl-actuals") != before
        rejected = await inbound.store.records_for_run(partial.run_id, status="failed")
        assert len(rejected) == partial.tally.failed
        assert all(record.error and "fault injection" in record.error for record in rejected)


async def test_quarantined_cells_are_loaded_once_their_members_exist(inbound) -> None:
    async with inbound.tree() as tree:
        [first] = await tree.run_flows(["gl-actuals"])
        assert first.status == "partial" and first.tally.quarantined > 0
        [align] = await tree.run_flows(["coa-align"])
        assert align.status == "succeeded" and align.tally.loaded == 4  # 2 accounts, 2 centers
        [retry] = await tree.run_flows(["gl-actuals"])  # no change in Epicor since
        assert retry.status == "succeeded", retry.error
        assert retry.tally.loaded == first.tally.quarantined
        assert retry.tally.quarantined == 0
        epicor = await inbound.epicor_cells()
        anaplan = await inbound.anaplan_gl_cells(tree)
    assert cents(anaplan) == cents(epicor)


async def test_coa_align_in_report_mode_only_audits_what_anaplan_lacks(inbound) -> None:
    from msgspec.structs import replace

    spec = inbound.config.flows["coa-align"]
    inbound.config = replace(
        inbound.config,
        flows={
            **inbound.config.flows,
            "coa-align": replace(spec, options={**spec.options, "mode": "report"}),
        },
    )
    async with inbound.tree() as tree:
        await inbound.reset_counters("anaplan")
        [report] = await tree.run_flows(["coa-align"])
    assert report.status == "partial"
    assert (report.tally.quarantined, report.tally.loaded) == (4, 0)
    assert await inbound.count("POST", "/tasks") == 0
    missing = await inbound.store.records_for_run(report.run_id, status="missing")
    assert {r.record_key for r in missing} == {
        f"coa-align:account:{code}" for code in LAGGING["Accounts"]
    } | {f"coa-align:cost_center:{code}" for code in LAGGING["Cost Centers"]}
    assert all(r.error and "no member" in r.error for r in missing)
