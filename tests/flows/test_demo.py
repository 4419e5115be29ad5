"""Acceptance 5: ``mlc demo`` on a fresh checkout — nothing set up, a real subprocess, exit 0.

Both directions run on one tree: the inbound flows, then ``budget-to-gl`` and the budget vs
actual report read back from Epicor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_both_directions_and_prints_what_moved(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLC_")}
    env["TMPDIR"] = str(tmp_path)  # the demo's temporary state lands here, checked below
    script = Path(sys.executable).with_name("mlc")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mlc"]
    done = subprocess.run(
        [*command, "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("flow "))
    rows = {line.split()[0]: line.split() for line in lines[header + 1 : header + 4]}
    assert set(rows) == {"coa-align", "gl-actuals", "ap-spend"}
    for flow, fields in rows.items():
        assert fields[2] == "succeeded", (flow, fields)
        assert int(fields[4].replace(",", "")) > 0, f"{flow} moved nothing"  # loaded
        assert fields[-1].endswith("s")  # time
    assert "plan vs actual" in done.stdout
    outbound = next(line for line in lines if line.startswith("budget-to-gl: run "))
    assert outbound.startswith("budget-to-gl: run 4 succeeded: "), outbound
    written = int(outbound.split(" read, ")[1].split(" written")[0].replace(",", ""))
    assert written > 0, outbound
    report = next(i for i, line in enumerate(lines) if line.startswith("Budget vs actual, "))
    total = next(line for line in lines[report:] if line.startswith("Total "))
    assert total.split()[1] != "0.00", total
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("mlc-demo-*")), "the demo removes its temporary state"
