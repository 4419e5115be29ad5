"""Acceptance 4: a dry run writes nothing and prints the changes it would make."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import anyio
import pytest

from mlc.metrics import FLOW_RUNS
from tests.outbound.support import budget_flow, run, tree, world

QUARTER = {"period_from": "2025-01", "period_to": "2025-03"}
JOURNAL = {"journal": True, "journal_offset_account": "3100|11|00"}


@pytest.mark.anyio
async def test_dry_run_writes_nothing_and_lists_every_change(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        before = await w.budgets("MAIN")
        config = w.write_config(budget_flow(budget_code="MAIN", **QUARTER, **JOURNAL))
        done = await anyio.run_process(
            [sys.executable, "-m", "mlc", "sync", "budget-to-gl", "--dry-run",
             "--config", str(config)],
            env={**os.environ, **w.environ()}, check=False,
        )  # fmt: skip
        output = done.stdout.decode()
        assert done.returncode == 0, output + done.stderr.decode()
        assert "Traceback" not in done.stderr.decode()
        counters = await w.counters()
        assert counters.get("budget_writes", 0) == 0
        assert counters.get("journal_posts", 0) == 0
        assert await w.budgets("MAIN") == before
        assert await w.plan_journal_lines() == []
        lines = output.splitlines()
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
        async with tree(config) as (running, _store):
            preview = await run(running, "budget-preview")
            assert preview.dry_run and preview.tally.changes > 100
            assert (await w.counters()).get("budget_writes", 0) == 0
            written = await run(running, "budget-to-gl")
            assert not written.dry_run
            assert written.tally.loaded == preview.tally.changes
            writes = (await w.counters())["budget_writes"]
            after = await w.budgets("MAIN")
            again = await run(running, "budget-preview")
        assert again.tally.changes == 0
        assert again.tally.unchanged == written.tally.loaded
        assert (await w.counters())["budget_writes"] == writes
        assert await w.budgets("MAIN") == after


@pytest.mark.anyio
async def test_the_scheduler_runs_an_outbound_flow_and_counts_it_as_a_success(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        config = w.config(budget_flow(budget_code="MAIN", dry_run=True, **QUARTER))
        successes = FLOW_RUNS.labels(flow="budget-to-gl", status="success")
        before = successes.value
        async with tree(config) as (running, store):
            queued = await running.submit("budget-to-gl", "signal")
            finished = await running.wait(queued.ticket)
            run_row = await store.get_run(finished.run_id or 0)
    assert (finished.ticket, finished.flow, finished.status) == (
        queued.ticket, "budget-to-gl", "succeeded"
    )
    assert finished.dry_run
    assert finished.tally.read == 2592 and finished.tally.mapped == 324
    assert finished.finished_at >= finished.started_at
    assert run_row is not None and (run_row.trigger, run_row.status) == (
        "signal (dry run)", "succeeded"
    )
    assert successes.value == before + 1
