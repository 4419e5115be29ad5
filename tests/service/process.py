"""Driving ``mlc sandbox`` and ``mlc run`` as real subprocesses from the end-to-end tests.

Both write to files, never to pipes nobody reads (a full pipe would stall them). The service's
JSON log lines are read back from its file to learn its port and to wait for events; every wait
is a bounded poll (``anyio.fail_after``), never a bare sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import anyio
from prometheus_client.parser import text_string_to_metric_families

from mlc.cli.demo import sandbox_overrides

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = REPO / "config.toml"
POLL = 0.05


def clean_environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLC_")}
    env.update(extra)
    return env


class Sandbox:
    """``mlc sandbox --random-ports`` in a subprocess; :attr:`urls` is its URLs file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.urls_file = directory / "urls.json"
        self.log = directory / "sandbox.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.urls: dict[str, Any] = {}

    def start(self, within: float = 30.0) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "mlc", "sandbox", "--random-ports"),
                    *("--urls-file", str(self.urls_file)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_environment(),
                cwd=self.directory,
            )
        deadline = time.monotonic() + within
        while not self.urls_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start: {self.log.read_text()}")
            time.sleep(POLL)
        self.urls = json.loads(self.urls_file.read_text())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def anaplan_api(self) -> str:
        return str(self.urls["anaplan"]["api_url"])

    def _control(self, system: str) -> str:
        base = self.urls[system]["api_url" if system == "anaplan" else "base_url"]
        if system == "epicor":
            base = base.rsplit("/", 1)[0]  # the host, without the instance
        return f"{base}/_sandbox"

    async def add_fault(self, system: str, spec: Mapping[str, Any]) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{self._control(system)}/faults", json=spec) as response:
                assert response.status == 201, await response.text()

    async def clear_faults(self) -> None:
        async with aiohttp.ClientSession() as session:
            for system in ("anaplan", "epicor"):
                async with session.delete(f"{self._control(system)}/faults") as response:
                    assert response.status == 200

    async def anaplan_counters(self) -> dict[str, int]:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{self.anaplan_api}/_sandbox/counters") as response:
                body = await response.json()
        return {str(k): int(v) for k, v in body["counters"].items()}


def service_environment(
    urls: Mapping[str, Mapping[str, Any]], state_dir: Path, **extra: str
) -> dict[str, str]:
    """The shipped ``config.toml`` pointed at the sandbox, credentials from the environment,
    schedules emptied (a shipped cron firing mid-test would add runs), ap-spend and the outbound
    flows off so a SIGUSR1 cycle is coa-align then gl-actuals."""
    env = sandbox_overrides(SHIPPED_CONFIG, urls, state_dir)
    env.update(
        {
            "MLC_CONNECTIONS__EPICOR__MAIN__PASSWORD": str(urls["epicor"]["password"]),
            "MLC_CONNECTIONS__EPICOR__MAIN__API_KEY": str(urls["epicor"]["api_key"]),
            "MLC_CONNECTIONS__ANAPLAN__FPA__PASSWORD": str(urls["anaplan"]["password"]),
            "MLC_SERVICE__SHUTDOWN_GRACE_SECONDS": "4",
            "MLC_SERVICE__HTTP_HOST": "127.0.0.1",
        }
    )
    for flow in ("coa-align", "gl-actuals", "ap-spend", "budget-to-gl", "forecast-to-gl"):
        env[f"MLC_FLOWS__{flow.upper().replace('-', '_')}__SCHEDULE"] = "[]"
    for flow in ("ap-spend", "budget-to-gl", "forecast-to-gl"):
        env[f"MLC_FLOWS__{flow.upper().replace('-', '_')}__ENABLED"] = "false"
    env.update(extra)
    return clean_environment(**env)


class Service:
    """One ``mlc run`` subprocess."""

    def __init__(self, config: Path, env: Mapping[str, str], log: Path) -> None:
        self.config = config
        self.env = dict(env)
        self.log = log
        self.process: anyio.abc.Process | None = None
        self.port = 0

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await anyio.open_process(
                [sys.executable, "-m", "mlc", "run", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.config.parent,
            )
        started = await self.wait_event("ops_server_started")
        self.port = int(started["port"])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def send(self, signum: signal.Signals) -> None:
        os.kill(self.pid, signum)

    def events(self) -> Iterator[dict[str, Any]]:
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                yield json.loads(line)

    async def wait_event(
        self,
        event: str,
        predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
        *,
        within: float = 20.0,
    ) -> dict[str, Any]:
        with anyio.fail_after(within):
            while True:
                for entry in self.events():
                    if entry.get("event") == event and predicate(entry):
                        return entry
                if self.process is not None and self.process.returncode is not None:
                    raise AssertionError(f"mlc run exited before {event}:\n{self.log.read_text()}")
                await anyio.sleep(POLL)

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{self.port}{path}") as response:
                return response.status, await response.text()

    async def status(self) -> dict[str, Any]:
        code, body = await self.get("/status")
        assert code == 200, body
        document: dict[str, Any] = json.loads(body)
        return document

    async def flow(self, name: str) -> dict[str, Any]:
        flows = (await self.status())["flows"]
        found: dict[str, Any] = next(f for f in flows if f["name"] == name)
        return found

    async def runs_total(self, flow: str, status: str) -> float:
        code, text = await self.get("/metrics")
        assert code == 200
        for family in text_string_to_metric_families(text):
            if family.name == "mlc_flow_runs":
                for sample in family.samples:
                    if sample.labels == {"flow": flow, "status": status}:
                        return float(sample.value)
        return 0.0

    async def until(self, check: Callable[[], Any], *, within: float = 30.0) -> Any:
        """Poll the async ``check`` until it returns something truthy."""
        with anyio.fail_after(within):
            while True:
                result = await check()
                if result:
                    return result
                await anyio.sleep(POLL)

    async def idle(self) -> bool:
        flows = (await self.status())["flows"]
        return all(f["state"] != "running" and f["pending"] is None for f in flows)

    async def wait_exit(self, within: float) -> int:
        assert self.process is not None
        with anyio.fail_after(within):
            code = await self.process.wait()
        return code

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
