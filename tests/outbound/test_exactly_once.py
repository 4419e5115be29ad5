"""Acceptance 2: reruns, lost answers and SIGKILL mid-run never post twice or change a total."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.outbound.support import World, budget_flow, run, tree, world

QUARTER = {"period_from": "2025-01", "period_to": "2025-03"}
JOURNAL = {"journal": True, "journal_offset_account": "3100|11|00"}

Ledger = dict[tuple[str, int], Decimal]


def _sync(config: Path) -> list[str]:
    """``mlc sync budget-to-gl``: the operator's command, as a subprocess the tests may kill."""
    return [sys.executable, "-m", "mlc", "sync", "budget-to-gl", "--config", str(config)]


async def _journal_totals(w: World) -> Ledger:
    """Net posted plan amount per (GL account, period), balancing lines included."""
    totals: Ledger = defaultdict(Decimal)
    for line in await w.plan_journal_lines():
        amount = Decimal(str(line["DebitAmount"])) - Decimal(str(line["CreditAmount"]))
        totals[(line["GLAccount"], int(line["FiscalPeriod"]))] += amount
    return dict(totals)


async def _state(w: World) -> tuple[Any, ...]:
    counters = await w.counters()
    return (
        await w.budgets("MAIN"),
        await _journal_totals(w),
        counters.get("journal_posts", 0),
        counters.get("journal_lines_posted", 0),
    )


@pytest.mark.anyio
async def test_a_rerun_writes_nothing_and_a_changed_plan_moves_only_its_cell(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        config = w.config(budget_flow(budget_code="MAIN", **QUARTER, **JOURNAL))
        async with tree(config) as (running, _store):
            first = await run(running, "budget-to-gl")
            assert first.status == "succeeded", first.error
            once = await _state(w)
            writes = (await w.counters())["budget_writes"]
            assert once[2] == 3
            second = await run(running, "budget-to-gl")
            assert (second.tally.loaded, second.tally.changes) == (0, 0)
            assert second.tally.unchanged == first.tally.loaded
            assert await _state(w) == once
            assert (await w.counters())["budget_writes"] == writes

            modules = (await w.anaplan_call("GET", "/modules", None))["modules"]
            budget = next(item["id"] for item in modules if item["name"] == "Budget")
            account, center = next(iter(w.approved("Export Approved Budget")))[:2]
            coordinates = [
                {"dimensionName": "Accounts", "itemCode": account},
                {"dimensionName": "Cost Centers", "itemCode": center},
                {"dimensionName": "Time", "itemName": "Feb 25"},
                {"dimensionName": "Versions", "itemName": "Budget"},
            ]
            await w.anaplan_call(
                "POST", f"/modules/{budget}/data",
                [{"lineItemName": "Amount", "dimensions": coordinates, "value": 4321.09}],
            )  # fmt: skip
            third = await run(running, "budget-to-gl")
        assert (third.tally.loaded, third.tally.changes) == (1, 2)
        budgets, journals, posts, _lines = await _state(w)
        moved = {cell: amount for cell, amount in budgets.items() if once[0].get(cell) != amount}
        assert len(moved) == 1
        ((gl_account, year, period), amount), = moved.items()
        assert (year, period, amount) == (2025, 2, Decimal("4321.09"))
        assert posts == 4
        assert journals[(gl_account, 2)] == Decimal("4321.09")
        assert journals[("3100|11|00", 2)] == once[1][("3100|11|00", 2)] - (
            Decimal("4321.09") - once[1][(gl_account, 2)]
        )


@pytest.mark.anyio
async def test_lost_answers_are_looked_up_not_resent(tmp_path: Path) -> None:
    flows = budget_flow(budget_code="MAIN", period_from="2025-02", period_to="2025-03", **JOURNAL)
    async with world(tmp_path / "clean") as clean:
        async with tree(clean.config(flows)) as (running, _store):
            assert (await run(running, "budget-to-gl")).status == "succeeded"
        expected = await _state(clean)
        expected_writes = (await clean.counters())["budget_writes"]
    async with world(tmp_path / "lossy") as w:
        routes = ("AccountBudgetSvc/UpdateExt", "PostGroupJournals", "GLJournalEntrySvc/Update")
        for route in routes:
            await w.fault("epicor", {"kind": "drop", "when": "after", "route": route, "count": 1})
        async with tree(w.config(flows)) as (running, store):
            result = await run(running, "budget-to-gl")
            assert result.status == "succeeded", result.error
            records = await store.records_for_run(result.run_id, status="ok")
            assert len(records) == result.tally.loaded > 0
        assert [fault["remaining"] for fault in await w.faults("epicor")] == [0, 0, 0]
        assert await _state(w) == expected
        assert (await w.counters())["budget_writes"] == expected_writes


async def _kill_when(
    config: Path, w: World, probe: Callable[[], Awaitable[bool]], what: str
) -> None:
    """Start ``mlc sync budget-to-gl``, poll ``probe`` until true (bounded), then SIGKILL it;
    fail if the run ended first (its output is in the failure message)."""
    log_path = w.directory / "sync.log"
    with log_path.open("ab") as log:
        async with await anyio.open_process(
            _sync(config), env={**os.environ, **w.environ()}, stdout=log, stderr=subprocess.STDOUT
        ) as process:
            with anyio.fail_after(60):
                while not await probe():
                    if process.returncode is not None:
                        pytest.fail(
                            f"the run ended (exit {process.returncode}) before {what}:\n"
                            + log_path.read_text()
                        )
                    await anyio.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            assert await process.wait() == -signal.SIGKILL


async def _run_to_end(config: Path, w: World) -> None:
    result = await anyio.run_process(
        _sync(config), env={**os.environ, **w.environ()}, check=False, stderr=subprocess.STDOUT
    )
    assert result.returncode == 0, result.stdout.decode()


@pytest.mark.slow
@pytest.mark.anyio
async def test_sigkill_mid_run_then_restart_equals_one_clean_run(tmp_path: Path) -> None:
    flows = budget_flow(budget_code="MAIN", **QUARTER, **JOURNAL)
    async with world(tmp_path / "clean") as clean:
        async with tree(clean.config(flows)) as (running, _store):
            assert (await run(running, "budget-to-gl")).status == "succeeded"
        expected = await _state(clean)
    assert expected[2] == 3

    async with world(tmp_path / "killed") as w:
        config = w.write_config(flows)
        for route in ("AccountBudgetSvc/UpdateExt", "GLJrnGrpSvc/UnlockGroup"):
            await w.fault("epicor", {"kind": "latency", "seconds": 0.3, "route": route,
                                     "count": -1})  # fmt: skip

        async def two_budget_writes() -> bool:
            return (await w.counters()).get("budget_writes", 0) >= 2

        async def entered_not_posted() -> bool:
            return bool(await _unposted(w))

        await _kill_when(config, w, two_budget_writes, "two budget writes")
        assert (await w.counters())["budget_writes"] < 5, "killed after the budget phase"
        await _kill_when(config, w, entered_not_posted, "a journal entered but not posted")
        assert (await w.counters()).get("journal_posts", 0) < 3, "killed after the journals"
        assert len(await _unposted(w)) == 1, "the killed run left its journal entered"
        await _run_to_end(config, w)
        assert await _state(w) == expected
        assert await _unposted(w) == []
        await _run_to_end(config, w)
        assert await _state(w) == expected


async def _unposted(w: World) -> list[dict[str, Any]]:
    return await w.odata_rows(
        "Erp.BO.GLJournalEntrySvc/GLJournalEntries", "startswith(CommentText,'mlc:')"
    )
