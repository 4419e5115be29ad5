"""``mlc sync``, ``mlc audit`` and ``mlc status`` as real subprocesses against the sandbox."""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest

from mlc.cli.demo import SHIPPED_CONFIG

pytestmark = pytest.mark.anyio


def environment(inbound) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLC_")}
    env.update(inbound.config_env)
    env["MLC_VAULT_KEY"] = inbound.vault_key
    return env


async def mlc(inbound, *args: str) -> tuple[int, str, str]:
    done = await anyio.run_process(
        [sys.executable, "-m", "mlc", *args, "--config", str(SHIPPED_CONFIG)],
        env=environment(inbound),
        check=False,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_sync_runs_flows_in_order_and_reports(inbound) -> None:
    code, out, err = await mlc(inbound, "sync", "gl-actuals", "coa-align", "--log-level", "debug")
    assert code == 0, err
    assert '"event":"run_finished"' in err  # JSON log lines on stderr
    secrets = [
        inbound.sandbox.urls["anaplan"]["password"],
        inbound.sandbox.urls["epicor"]["password"],
        inbound.sandbox.urls["epicor"]["api_key"],
        inbound.vault_key,
    ]
    for secret in secrets:
        assert str(secret) not in out + err
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("flow "))
    summary = lines[header + 1 : header + 3]
    assert summary[0].split()[:3] == ["coa-align", "1", "succeeded"]
    assert summary[1].split()[:3] == ["gl-actuals", "2", "succeeded"]
    assert any("pulling" in line and "rows read" in line for line in lines[:header])
    assert "Traceback" not in err

    code, out, err = await mlc(inbound, "status", "--json")
    assert code == 0, err
    report = json.loads(out)
    gl = report["flows"]["gl-actuals"]
    assert gl["last_run"]["status"] == "succeeded"
    assert gl["watermark"] == await inbound.store.get_watermark("gl-actuals")
    assert report["open_anaplan_tasks"] == []

    code, out, err = await mlc(inbound, "audit", "runs")
    assert code == 0, err
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["gl-actuals", "coa-align"]


async def test_sync_exits_non_zero_when_a_run_fails_and_on_bad_usage(inbound) -> None:
    await inbound.control(
        "anaplan", "faults", {"kind": "task_failure", "mode": "fail", "action": "Load Accounts"}
    )
    code, out, err = await mlc(inbound, "sync", "coa-align")
    assert code == 1
    assert "coa-align: failed:" in out and "Load Accounts" in out
    assert "Traceback" not in err

    code, out, err = await mlc(inbound, "sync", "no-such-flow")
    assert code == 2
    expected = (
        "mlc sync: unknown flow(s) no-such-flow (configured: ap-spend, budget-to-gl, coa-align, "
        "forecast-to-gl, gl-actuals)"
    )
    assert err.strip().splitlines() == [expected]

    # A dry run is outbound-only: an inbound flow named with it would otherwise load for real.
    code, out, err = await mlc(inbound, "sync", "budget-to-gl", "gl-actuals", "--dry-run")
    assert code == 2
    refused = (
        "mlc sync: --dry-run applies to outbound flows only; gl-actuals is inbound (run without "
        "--dry-run, or name only outbound flows)"
    )
    assert err.strip().splitlines() == [refused]
    assert [run.flow for run in await inbound.store.list_runs()] == ["coa-align"]


async def test_sync_refuses_to_run_beside_the_service(inbound) -> None:
    from mlc.ops.pidfile import PidFile

    with PidFile(inbound.config.service.pid_path):
        code, _, err = await mlc(inbound, "sync", "gl-actuals")
    assert code == 2
    assert f"the service (mlc run, pid {os.getpid()}) is running" in err
    assert "mlc trigger" in err
    assert await inbound.store.list_runs() == []
