"""Acceptance 3: a record quarantined for a missing mapping succeeds with `mlc replay` once the
mapping exists, and only that record is written."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from mlc.flows.outbound.export import SourceValue
from tests.outbound.support import World, budget_flow, run, tree, world

MARCH = {"period_from": "2025-03", "period_to": "2025-03"}
ACCOUNTS_KIND = "anaplan.fpa:Accounts"


async def _plan_fx_loss(w: World, amounts: dict[str, str]) -> dict[str, str]:
    """Add Anaplan account FX-LOSS (Epicor has it as 7200, Anaplan does not yet) with March 2025
    budget values per cost center; returns cost center → the Epicor GL account it should reach."""
    gl = await w.odata_rows(
        "Erp.BO.GLAccountSvc/GLAccounts", "SegValue1 eq '7200' and Active eq true"
    )
    targets = {row["SegValue2"]: row["GLAccount1"] for row in gl}
    assert set(amounts) <= set(targets), (amounts, targets)
    lists = (await w.anaplan_call("GET", "/lists", None))["lists"]
    accounts = next(item["id"] for item in lists if item["name"] == "Accounts")
    added = await w.anaplan_call(
        "POST", f"/lists/{accounts}/items?action=add",
        {"items": [{"name": "FX Loss (planning)", "code": "FX-LOSS"}]},
    )  # fmt: skip
    assert added["added"] == 1
    modules = (await w.anaplan_call("GET", "/modules", None))["modules"]
    budget = next(item["id"] for item in modules if item["name"] == "Budget")
    cells = [
        {
            "lineItemName": "Amount",
            "dimensions": [
                {"dimensionName": "Accounts", "itemCode": "FX-LOSS"},
                {"dimensionName": "Cost Centers", "itemCode": center},
                {"dimensionName": "Time", "itemName": "Mar 25"},
                {"dimensionName": "Versions", "itemName": "Budget"},
            ],
            "value": float(amount),
        }
        for center, amount in amounts.items()
    ]
    written = await w.anaplan_call("POST", f"/modules/{budget}/data", cells)
    assert written["numberOfCellsChanged"] == len(cells)
    return {center: targets[center] for center in amounts}


def _changed(before: dict[tuple[str, int, int], Decimal], after: dict[tuple[str, int, int],
             Decimal]) -> dict[tuple[str, int, int], Decimal]:  # fmt: skip
    return {cell: amount for cell, amount in after.items() if before.get(cell) != amount}


@pytest.mark.anyio
async def test_quarantined_records_are_written_by_a_replay_after_the_mapping_is_added(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        two = sorted(await _centers_of_7200(w))[:2]
        amounts = dict(zip(two, ("1234.56", "-75.25"), strict=True))
        centers = await _plan_fx_loss(w, amounts)
        config = w.config(budget_flow(budget_code="MAIN", **MARCH))
        async with tree(config) as (running, store):
            first = await run(running, "budget-to-gl")
            assert first.status == "partial"
            assert first.tally.quarantined == len(centers)
            quarantined = await store.records_for_run(first.run_id, status="quarantined")
            assert {r.record_key for r in quarantined} == {
                f"budget-to-gl:Budget|FX-LOSS|{center}|Mar 25" for center in centers
            }
            assert all("Anaplan natural account 'FX-LOSS' has no Epicor natural account"
                       in (r.error or "") for r in quarantined)  # fmt: skip
            before, writes = await w.budgets("MAIN"), (await w.counters())["budget_writes"]

            nothing = await running.replay("budget-to-gl", first.run_id)
            assert nothing.status == "partial" and nothing.tally.quarantined == len(centers)
            assert await w.budgets("MAIN") == before

            await store.upsert_mappings(ACCOUNTS_KIND, {"7200": "FX-LOSS"})
            replay = await running.replay("budget-to-gl", first.run_id)
            assert replay.status == "succeeded", replay.error
            assert (replay.tally.read, replay.tally.loaded) == (len(centers), len(centers))
            stored = await store.get_run(replay.run_id)
            assert stored is not None
            assert (stored.parent_run_id, stored.trigger, stored.status) == (
                first.run_id, "replay", "succeeded"
            )
            after = await w.budgets("MAIN")
            assert _changed(before, after) == {
                (gl, 2025, 3): Decimal(amounts[center]) for center, gl in centers.items()
            }
            assert (await w.counters())["budget_writes"] == writes + 1

            again = await running.replay("budget-to-gl", first.run_id)
            assert again.status == "succeeded"
            assert again.tally.unchanged == len(centers) and again.tally.loaded == 0
            assert (await w.counters())["budget_writes"] == writes + 1
            assert await w.budgets("MAIN") == after


async def _centers_of_7200(w: World) -> set[str]:
    rows = await w.odata_rows(
        "Erp.BO.GLAccountSvc/GLAccounts", "SegValue1 eq '7200' and Active eq true"
    )
    return {row["SegValue2"] for row in rows}


@pytest.mark.anyio
async def test_mlc_replay_record_sends_one_record_only(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        centers_7200 = sorted(await _centers_of_7200(w))
        assert len(centers_7200) >= 2
        chosen, other = centers_7200[:2]
        targets = await _plan_fx_loss(w, {chosen: "500.10", other: "600.20"})
        config_path = w.write_config(budget_flow(budget_code="MAIN", **MARCH))
        config = w.config(budget_flow(budget_code="MAIN", **MARCH))
        async with tree(config) as (running, store):
            first = await run(running, "budget-to-gl")
            assert first.tally.quarantined == 2
            await store.upsert_mappings(ACCOUNTS_KIND, {"7200": "FX-LOSS"})
        before = await w.budgets("MAIN")
        key = SourceValue(line=0, account="FX-LOSS", cost_center=chosen, period="Mar 25",
                          version="Budget", amount="").key("budget-to-gl")  # fmt: skip
        result = await anyio.run_process(
            [sys.executable, "-m", "mlc", "replay", str(first.run_id), "--record", key,
             "--config", str(config_path)],
            env={**os.environ, **w.environ()}, check=False, stderr=subprocess.STDOUT,
        )  # fmt: skip
        output = result.stdout.decode()
        assert result.returncode == 0, output
        assert f"budget-to-gl: run {first.run_id + 1} succeeded" in output
        assert "1 written" in output
        assert _changed(before, await w.budgets("MAIN")) == {
            (targets[chosen], 2025, 3): Decimal("500.10")
        }
        missing = await anyio.run_process(
            [sys.executable, "-m", "mlc", "replay", str(first.run_id), "--record", "nope",
             "--config", str(config_path)],
            env={**os.environ, **w.environ()}, check=False, stderr=subprocess.STDOUT,
        )  # fmt: skip
        assert missing.returncode == 2
        assert missing.stdout.decode().strip() == (
            f"mlc replay: run {first.run_id} has no record 'nope'"
        )


@pytest.mark.anyio
async def test_a_replayed_record_is_summed_with_those_already_written_to_its_cell(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        center = sorted(await _centers_of_7200(w))[0]
        targets = await _plan_fx_loss(w, {center: "100.00"})
        lists = (await w.anaplan_call("GET", "/lists", None))["lists"]
        accounts = next(item["id"] for item in lists if item["name"] == "Accounts")
        await w.anaplan_call(
            "POST", f"/lists/{accounts}/items?action=add",
            {"items": [{"name": "Foreign Exchange Loss", "code": "7200"}]},
        )  # fmt: skip
        modules = (await w.anaplan_call("GET", "/modules", None))["modules"]
        budget = next(item["id"] for item in modules if item["name"] == "Budget")
        coordinates = [
            {"dimensionName": "Accounts", "itemCode": "7200"},
            {"dimensionName": "Cost Centers", "itemCode": center},
            {"dimensionName": "Time", "itemName": "Mar 25"},
            {"dimensionName": "Versions", "itemName": "Budget"},
        ]
        await w.anaplan_call(
            "POST", f"/modules/{budget}/data",
            [{"lineItemName": "Amount", "dimensions": coordinates, "value": 23.45}],
        )  # fmt: skip
        config = w.config(budget_flow(budget_code="MAIN", **MARCH))
        cell = (targets[center], 2025, 3)
        async with tree(config) as (running, store):
            first = await run(running, "budget-to-gl")
            assert first.tally.quarantined == 1
            assert (await w.budgets("MAIN"))[cell] == Decimal("23.45")
            await store.upsert_mappings(ACCOUNTS_KIND, {"7200": "FX-LOSS"})
            replay = await running.replay("budget-to-gl", first.run_id)
        assert replay.status == "succeeded", replay.error
        assert (await w.budgets("MAIN"))[cell] == Decimal("123.45")
