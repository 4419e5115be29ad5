"""Acceptance 4: a dry run writes nothing and prints the changes it would make."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from actors.epicor_writer import execute_outbound
from mlc.cli.replay import sync_outbound
from mlc.messages import ExecuteRun
from mlc.runtime import SystemClock
from tests.outbound.support import budget_flow, runtime, world

QUARTER = {"period_from": "2025-01", "period_to": "2025-03"}
JOURNAL = {"journal": True, "journal_offset_account": "3100|11|00"}


@pytest.mark.anyio
async def test_dry_run_writes_nothing_and_lists_every_change(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        before = await w.budgets("MAIN")
        config = w.config(budget_flow(budget_code="MAIN", **QUARTER, **JOURNAL))
        out = io.StringIO()
        code = await sync_outbound(
            config, ["budget-to-gl"], trigger="sync", dry_run=True, out=out
        )
        assert code == 0, out.getvalue()
        counters = await w.counters()
        assert counters.get("budget_writes", 0) == 0
        assert counters.get("journal_posts", 0) == 0
        assert await w.budgets("MAIN") == before
        assert await w.plan_journal_lines() == []
        lines = out.getvalue().splitlines()
        budget_lines = [line for line in lines if line.startswith("would set budget MAIN ")]
        approved = {
            cell for cell in w.approved("Export Approved Budget") if cell[2].endswith(" 25")
            and cell[2].split()[0] in ("Jan", "Feb", "Mar")
        }  # fmt: skip
        assert len(budget_lines) == len(approved) > 300
        sample = re.fullmatch(
            r"would set budget MAIN (\S+) (2025-0[123]): (none|[-\d,.]+) -> ([-\d,.]+)",
            budget_lines[0],
        )
        assert sample is not None, budget_lines[0]
        account, period, previous, amount = sample.groups()
        year, fiscal_period = (int(part) for part in period.split("-"))
        held = before.get((account, year, fiscal_period))
        assert previous == ("none" if held is None else f"{held:,.2f}")
        natural, center, _site = account.split("|")
        month = ("Jan", "Feb", "Mar")[fiscal_period - 1]
        approved_amount = w.approved("Export Approved Budget")[(natural, center, f"{month} 25")]
        assert amount == f"{approved_amount:,.2f}"
        journals = [line for line in lines if line.startswith("would post journal ")]
        assert [line.split()[4] for line in journals] == ["2025-01:", "2025-02:", "2025-03:"]
        summary = lines[-1]
        assert summary.startswith("budget-to-gl: run 1 succeeded: dry run, nothing written: ")
        assert f"would change {len(approved) + 3:,} cell(s)/journal(s)" in summary


@pytest.mark.anyio
async def test_the_dry_run_option_also_protects_a_rerun_after_real_changes(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        flows = budget_flow(budget_code="MAIN", period_from="2025-02", period_to="2025-02")
        flows += budget_flow("budget-preview", budget_code="MAIN", period_from="2025-02",
                             period_to="2025-02", dry_run=True)  # fmt: skip
        config = w.config(flows)
        async with runtime(config, ["budget-to-gl", "budget-preview"]) as (running, _store):
            preview = await running.run("budget-preview", trigger="test")
            assert preview.dry_run and preview.tally.changes > 100
            assert (await w.counters()).get("budget_writes", 0) == 0
            written = await running.run("budget-to-gl", trigger="test")
            assert written.tally.loaded == preview.tally.changes
            writes = (await w.counters())["budget_writes"]
            after = await w.budgets("MAIN")
            again = await running.run("budget-preview", trigger="test")
        assert again.tally.changes == 0
        assert again.tally.unchanged == written.tally.loaded
        assert (await w.counters())["budget_writes"] == writes
        assert await w.budgets("MAIN") == after


@pytest.mark.anyio
async def test_the_flow_runner_hook_reports_an_outbound_run_as_run_finished(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        config = w.config(budget_flow(budget_code="MAIN", dry_run=True, **QUARTER))
        async with runtime(config, ["budget-to-gl"]) as (running, store):
            finished = await execute_outbound(
                ExecuteRun(ticket=7, flow="budget-to-gl", trigger="signal"),
                running.context("budget-to-gl", dry_run=False, report=lambda line: None),
                SystemClock(),
            )
            run = await store.get_run(finished.run_id or 0)
    assert (finished.ticket, finished.flow, finished.status) == (7, "budget-to-gl", "succeeded")
    assert finished.tally.read == 2592 and finished.tally.mapped == 324
    assert finished.finished_at >= finished.started_at
    assert run is not None and (run.trigger, run.status) == ("signal (dry run)", "succeeded")
