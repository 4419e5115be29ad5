"""``mlc run`` as a real subprocess against ``mlc sandbox``: signals, drain, reload, probes.

One sandbox serves the whole module (each test has its own state directory); faults injected by a
test are cleared when it ends. Waits are bounded polls of the service's endpoints and log file.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import anyio
import pytest

from tests.service.process import SHIPPED_CONFIG, Sandbox, Service, service_environment

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

#: Every Anaplan task poll (``GET …/tasks/{id}``) answers this many seconds late.
SLOW_TASK_POLLS = {
    "kind": "latency", "host": "api", "method": "GET", "route": "/tasks/", "count": -1
}
#: Every Epicor OData read answers this many seconds late (delta runs read Epicor too).
SLOW_EPICOR = {"kind": "latency", "method": "GET", "route": "/api/v2/odata/", "count": -1}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = Sandbox(tmp_path_factory.mktemp("sandbox"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def faults(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    try:
        yield sandbox
    finally:
        await sandbox.clear_faults()


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    shutil.copyfile(SHIPPED_CONFIG, path)
    return path


async def _started(tmp_path: Path, sandbox: Sandbox, **env: str) -> Service:
    env = service_environment(sandbox.urls, tmp_path / "state", **env)
    service = Service(_config(tmp_path), env, tmp_path / "run.log")
    await service.start()
    await service.until(lambda: _ready(service))
    return service


async def _ready(service: Service) -> bool:
    return (await service.get("/readyz"))[0] == 200


async def _stop(service: Service) -> int:
    if service.process is None:
        return 0
    if service.process.returncode is not None:
        return service.process.returncode
    service.send(signal.SIGTERM)
    try:
        return await service.wait_exit(within=20)
    finally:
        await service.kill()


async def test_sigusr1_runs_and_signals_during_a_run_coalesce(
    tmp_path: Path, faults: Sandbox
) -> None:
    service = await _started(tmp_path, faults)
    try:
        assert await service.runs_total("gl-actuals", "success") == 0
        service.send(signal.SIGUSR1)

        async def one_success() -> bool:
            return await service.runs_total("gl-actuals", "success") == 1

        await service.until(one_success)
        await service.until(service.idle)

        await faults.add_fault("epicor", {**SLOW_EPICOR, "seconds": 1.0})
        service.send(signal.SIGUSR1)

        async def gl_running() -> bool:
            return bool((await service.flow("gl-actuals"))["state"] == "running")

        await service.until(gl_running)
        base = await service.runs_total("gl-actuals", "success")
        for _ in range(5):
            service.send(signal.SIGUSR1)

        async def gl_pending() -> bool:
            return (await service.flow("gl-actuals"))["pending"] is not None

        await service.until(gl_pending)
        await faults.clear_faults()
        await service.until(service.idle)
        # The run that was going, plus exactly one for the five signals.
        assert await service.runs_total("gl-actuals", "success") == base + 2

        # `mlc trigger` records a trigger and signals the pid file's owner: only that flow runs.
        coa = await service.runs_total("coa-align", "success")
        with anyio.fail_after(60):
            command = ["-m", "mlc", "trigger", "gl-actuals", "--config", str(service.config)]
            result = await anyio.run_process(
                [sys.executable, *command],
                env=service.env,
                check=False,
            )
        assert result.returncode == 0, result.stderr.decode()
        assert f"signalled mlc run (pid {service.pid})" in result.stdout.decode()

        async def triggered() -> bool:
            return await service.runs_total("gl-actuals", "success") == base + 3

        await service.until(triggered)
        await service.until(service.idle)
        assert await service.runs_total("coa-align", "success") == coa
        runs = (await service.flow("gl-actuals"))["last_runs"]
        assert runs[0]["trigger"] == "manual"
    finally:
        assert await _stop(service) == 0


async def test_sigusr2_runs_the_outbound_flows_through_the_same_tree(
    tmp_path: Path, faults: Sandbox
) -> None:
    # budget-to-gl on, narrowed to the current fiscal period (the sandbox's budget year is the
    # current one) so the run writes a month of budget cells, not two years.
    today = dt.datetime.now(dt.UTC).date()
    period = f"{today.year}-{today.month:02d}"
    options = "MLC_FLOWS__BUDGET_TO_GL__OPTIONS__"
    env = {
        "MLC_FLOWS__BUDGET_TO_GL__ENABLED": "true",
        f"{options}PERIOD_FROM": period,
        f"{options}PERIOD_TO": period,
    }
    service = await _started(tmp_path, faults, **env)
    try:
        before = await service.runs_total("budget-to-gl", "success")
        service.send(signal.SIGUSR2)

        async def one_more() -> bool:
            return await service.runs_total("budget-to-gl", "success") == before + 1

        await service.until(one_more)
        await service.until(service.idle)
        assert await service.runs_total("budget-to-gl", "success") == before + 1
        # SIGUSR2 is the outbound signal only: no inbound flow ran.
        assert await service.runs_total("gl-actuals", "success") == 0
        assert await service.runs_total("coa-align", "success") == 0
        (last, *_older) = (await service.flow("budget-to-gl"))["last_runs"]
        assert last["trigger"] == "signal"
        finished = await service.wait_event(
            "outbound_run_finished", lambda entry: entry.get("flow") == "budget-to-gl"
        )
        assert finished["status"] == "succeeded" and finished["changes"] > 0
    finally:
        assert await _stop(service) == 0


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


async def test_sigterm_mid_run_drains_exits_zero_and_the_next_start_resumes(
    tmp_path: Path, faults: Sandbox
) -> None:
    # Only gl-actuals, so the run cut short is the one that matters.
    env = {"MLC_FLOWS__COA_ALIGN__ENABLED": "false"}
    service = await _started(tmp_path, faults, **env)
    await faults.add_fault("anaplan", {**SLOW_TASK_POLLS, "seconds": 10.0})
    service.send(signal.SIGUSR1)
    await service.wait_event("anaplan_task_started")
    tasks_before = (await faults.anaplan_counters())["tasks_started"]

    ready: list[int] = []
    alive: list[int] = []
    states: list[str] = []

    async def probe() -> None:
        while service.process is not None and service.process.returncode is None:
            try:
                ready.append((await service.get("/readyz"))[0])
                alive.append((await service.get("/livez"))[0])
                code, body = await service.get("/status")
                states.append(json.loads(body)["state"] if code == 200 else str(code))
            except (OSError, aiohttp.ClientError):
                return  # the server closed: the process is exiting
            await anyio.sleep(0.05)

    async with anyio.create_task_group() as tg:
        service.send(signal.SIGTERM)
        tg.start_soon(probe)
        code = await service.wait_exit(within=4 + 10)
    assert code == 0, service.log.read_text()
    assert ready and set(ready) == {503}, ready
    assert alive and set(alive) == {200}, alive
    assert "draining" in states, states
    assert not any(e["event"] == "shutdown_forced" for e in service.events())

    db = tmp_path / "state" / "mlc.db"
    assert _rows(db, "SELECT flow, status FROM runs") == [("gl-actuals", "running")]
    assert len(_rows(db, "SELECT task_id FROM anaplan_tasks WHERE finished_at IS NULL")) == 1
    assert _rows(db, "SELECT * FROM watermarks") == []

    await faults.clear_faults()
    restarted = Service(service.config, service.env, tmp_path / "run2.log")
    await restarted.start()
    try:

        async def resumed() -> list[tuple[object, ...]]:
            return [
                row
                for row in _rows(db, "SELECT id, trigger, status FROM runs ORDER BY id")
                if row[1] == "resume" and row[2] != "running"
            ]

        (resume,) = await restarted.until(resumed)
        await restarted.until(restarted.idle)
        (cut, again) = _rows(db, "SELECT trigger, status FROM runs ORDER BY id")
        assert again == ("resume", resume[2])
        assert resume[2] in ("succeeded", "partial")
        assert cut[0] == "signal"
        assert _rows(db, "SELECT task_id FROM anaplan_tasks WHERE finished_at IS NULL") == []
        assert len(_rows(db, "SELECT value FROM watermarks WHERE flow = 'gl-actuals'")) == 1
        new_tasks = (await faults.anaplan_counters())["tasks_started"] - tasks_before
        if cut[1] in ("succeeded", "partial"):
            # Finished by reattaching to its Anaplan task: nothing was imported a second time.
            assert new_tasks == 0
        else:
            assert cut[1] == "interrupted"
            assert new_tasks == 1
    finally:
        assert await _stop(restarted) == 0


async def test_sighup_applies_a_valid_config_and_keeps_it_when_the_next_is_broken(
    tmp_path: Path, faults: Sandbox
) -> None:
    service = await _started(tmp_path, faults)
    try:
        assert (await service.flow("gl-actuals"))["enabled"] is True
        text = service.config.read_text()
        service.config.write_text(
            text.replace('[flows.gl-actuals]\n', '[flows.gl-actuals]\nenabled = false\n', 1)
        )
        service.send(signal.SIGHUP)
        await service.wait_event("config_reloaded")
        assert (await service.flow("gl-actuals"))["state"] == "disabled"
        await service.until(lambda: _rebuilt(service))

        service.config.write_text(text + "\n[service\n")
        service.send(signal.SIGHUP)
        failed = await service.wait_event("config_reload_failed")
        assert any("invalid TOML" in error for error in failed["errors"])
        assert service.process is not None and service.process.returncode is None
        assert await _ready(service)
        # Still the last valid configuration.
        assert (await service.flow("gl-actuals"))["state"] == "disabled"
        assert await _rebuilt(service)  # no second rebuild for the broken file
    finally:
        assert await _stop(service) == 0


async def _rebuilt(service: Service) -> bool:
    started = [e for e in service.events() if e["event"] == "supervisor_started"]
    return len(started) == 2 and await _ready(service)


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_livez_stays_up_while_anaplan_is_unreachable(tmp_path: Path, faults: Sandbox) -> None:
    dead = _dead_url()
    env = {
        f"MLC_CONNECTIONS__ANAPLAN__FPA__{key}": dead
        for key in ("AUTH_URL", "API_URL", "OAUTH_URL", "CLOUDWORKS_URL")
    }
    service = await _started(tmp_path, faults, **env)
    try:
        probes: list[tuple[int, int]] = []

        async def anaplan_failing() -> bool:
            live, _ = await service.get("/livez")
            ready, body = await service.get("/readyz")
            probes.append((live, ready))
            anaplan = json.loads(body)["connections"].get("anaplan.fpa", {})
            return bool(anaplan.get("consecutive_failures", 0) >= 1)

        await service.until(anaplan_failing)
        assert probes and set(probes) == {(200, 200)}
        _, body = await service.get("/readyz")
        detail = json.loads(body)["connections"]["anaplan.fpa"]
        assert "cannot connect" in detail["last_error"]
    finally:
        assert await _stop(service) == 0
