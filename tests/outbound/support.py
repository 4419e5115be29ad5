"""Helpers of the outbound end-to-end tests: a served sandbox, a config pointing at it, the
service's own actor tree to run the flows on, and independent ways to look at what reached Epicor
(raw OData reads, the sandbox's counters) and what Anaplan approved (the emulator's own export
rows)."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import anyio

from actors.tree import Tree, TreeSettings, build_tree
from mlc.config import Config, load_config
from mlc.messages import RunFinished
from mlc.runtime import SystemClock
from mlc.sandbox import RunningSandbox, open_sandbox
from mlc.sandbox.anaplan import AnaplanOptions
from mlc.sandbox.anaplan.exporter import export_rows
from mlc.sandbox.epicor import EpicorOptions
from mlc.store import Store

#: Pinned, so a test does not depend on the day it runs: budgets for 2025 and 2026 in Anaplan,
#: balances (and journal posting) for 2024 and 2025 in Epicor.
FISCAL_YEAR = 2025
AS_OF = "2025-06-30T12:00:00"
FAST_ANAPLAN = AnaplanOptions(
    fiscal_year=FISCAL_YEAR, task_base_seconds=0.0, task_seconds_per_row=0.0, cancel_seconds=0.0
)
EPICOR = EpicorOptions(fiscal_year=FISCAL_YEAR, as_of=AS_OF)
BUDGET_DETAILS = "Erp.BO.AccountBudgetSvc/GLBudgetDtls"
JOURNAL_LINES = "Erp.BO.GLJrnDtlSvc/GLJrnDtls"

BudgetCells = dict[tuple[str, int, int], Decimal]


def budget_flow(name: str = "budget-to-gl", **options: Any) -> str:
    """A ``[flows.<name>]`` table of kind budget-to-gl with ``options`` (TOML values)."""
    lines = [
        f"[flows.{name}]",
        'kind = "budget-to-gl"',
        'source = "anaplan.fpa"',
        'target = "epicor.main"',
        f"[flows.{name}.options]",
    ]
    for key, value in options.items():
        lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return str(value)


@dataclass
class World:
    """A running sandbox and a directory for the connector's config and state."""

    sandbox: RunningSandbox
    directory: Path
    http: aiohttp.ClientSession

    @property
    def epicor(self) -> dict[str, Any]:
        return self.sandbox.urls["epicor"]

    @property
    def anaplan(self) -> dict[str, Any]:
        return self.sandbox.urls["anaplan"]

    def environ(self) -> dict[str, str]:
        """Credentials as environment overrides (no vault needed)."""
        return {
            "MLC_CONNECTIONS__EPICOR__MAIN__PASSWORD": str(self.epicor["password"]),
            "MLC_CONNECTIONS__EPICOR__MAIN__API_KEY": str(self.epicor["api_key"]),
            "MLC_CONNECTIONS__ANAPLAN__FPA__PASSWORD": str(self.anaplan["password"]),
        }

    def write_config(self, flows: str) -> Path:
        epicor, anaplan = self.epicor, self.anaplan
        path = self.directory / "config.toml"
        path.write_text(
            f"""
[service]
state_dir = "state"
http_port = 0

[connections.epicor.main]
base_url = "{epicor["base_url"]}"
company = "{epicor["company"]}"
user = "{epicor["user"]}"

[connections.anaplan.fpa]
auth_url = "{anaplan["auth_url"]}"
api_url = "{anaplan["api_url"]}"
oauth_url = "{anaplan["oauth_url"]}"
cloudworks_url = "{anaplan["cloudworks_url"]}"
user = "{anaplan["user"]}"
workspace = "{anaplan["workspace"]}"
model = "{anaplan["model"]}"

{flows}
"""
        )
        return path

    def config(self, flows: str) -> Config:
        return load_config(self.write_config(flows), environ=self.environ())

    # ---- Epicor, read the way any client would -----------------------------------------

    def _headers(self) -> dict[str, str]:
        pair = f"{self.epicor['user']}:{self.epicor['password']}".encode()
        return {
            "Authorization": "Basic " + base64.b64encode(pair).decode(),
            "x-api-key": str(self.epicor["api_key"]),
            "Accept": "application/json",
        }

    async def odata_rows(self, path: str, where: str) -> list[dict[str, Any]]:
        url = f"{self.epicor['base_url']}/api/v2/odata/{self.epicor['company']}/{path}"
        rows: list[dict[str, Any]] = []
        while True:
            params = {"$filter": where, "$top": "100", "$skip": str(len(rows))}
            async with self.http.get(url, params=params, headers=self._headers()) as reply:
                assert reply.status == 200, await reply.text()
                page = (await reply.json())["value"]
            rows.extend(page)
            if len(page) < 100:
                return rows

    async def budgets(self, budget_code: str) -> BudgetCells:
        rows = await self.odata_rows(BUDGET_DETAILS, f"BudgetCodeID eq '{budget_code}'")
        return {
            (row["BalanceAcct"], int(row["FiscalYear"]), int(row["FiscalPeriod"])): Decimal(
                str(row["BudgetAmt"])
            )
            for row in rows
        }

    async def plan_journal_lines(self) -> list[dict[str, Any]]:
        return await self.odata_rows(JOURNAL_LINES, "startswith(CommentText,'mlc:')")

    async def counters(self) -> dict[str, int]:
        url = f"{self.sandbox.hosts['epicor']['api']}/_sandbox/counters"
        async with self.http.get(url) as reply:
            assert reply.status == 200, await reply.text()
            body = await reply.json()
        return {name: int(value) for name, value in body["counters"].items()}

    async def fault(self, system: str, spec: Mapping[str, Any]) -> None:
        url = f"{self.sandbox.hosts[system]['api']}/_sandbox/faults"
        async with self.http.post(url, json=dict(spec)) as reply:
            assert reply.status < 300, await reply.text()

    async def faults(self, system: str) -> list[dict[str, Any]]:
        url = f"{self.sandbox.hosts[system]['api']}/_sandbox/faults"
        async with self.http.get(url) as reply:
            assert reply.status == 200, await reply.text()
            found: list[dict[str, Any]] = (await reply.json())["faults"]
            return found

    # ---- Anaplan: the approved cells, from the emulator's own export -------------------

    def approved(self, export_name: str) -> dict[tuple[str, str, str], Decimal]:
        """``(account code, cost center code, period name)`` → amount, as the export holds."""
        emulator: Any = self.sandbox.emulators["anaplan"]
        state = next(iter(emulator.ref.tenant.models.values()))
        definition = next(d for d in state.exports.values() if d.name == export_name)
        return {
            (account, center, period): Decimal(amount)
            for account, center, period, _version, amount in export_rows(state.model, definition)
        }

    async def anaplan_call(self, method: str, path: str, body: Any) -> Any:
        """An Integration API call on the demo model, signed like the connector."""
        anaplan = self.anaplan
        pair = f"{anaplan['user']}:{anaplan['password']}".encode()
        login = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        async with self.http.post(f"{anaplan['auth_url']}/token/authenticate", headers=login) as r:
            assert r.status in (200, 201), await r.text()
            token = (await r.json())["tokenInfo"]["tokenValue"]
        url = (
            f"{anaplan['api_url']}/2/0/workspaces/{anaplan['workspace_id']}/models/"
            f"{anaplan['model_id']}{path}"
        )
        headers = {"Authorization": f"AnaplanAuthToken {token}"}
        async with self.http.request(method, url, json=body, headers=headers) as reply:
            assert reply.status < 300, await reply.text()
            return await reply.json()


@asynccontextmanager
async def world(
    directory: Path,
    *,
    anaplan: AnaplanOptions = FAST_ANAPLAN,
    epicor: EpicorOptions = EPICOR,
) -> AsyncIterator[World]:
    await anyio.Path(directory).mkdir(parents=True, exist_ok=True)
    async with (
        open_sandbox(anaplan=anaplan, epicor=epicor) as sandbox,
        aiohttp.ClientSession() as http,
    ):
        yield World(sandbox, directory, http)


def quick_settings(*, dry_run: bool = False) -> TreeSettings:
    """Brisk polling of the sandbox's Anaplan tasks (no waiting out Anaplan's 5-second guidance)."""
    from actors.anaplan_model import ModelSettings
    from mlc.anaplan.polling import PollSchedule

    return TreeSettings(
        model=ModelSettings(
            busy_poll_seconds=0.05,
            poll=PollSchedule(first=0.02, fast_for=1.0, cadence=0.05, grow_after=5.0, cap=0.5),
            check_cloudworks=False,
        ),
        outbound_dry_run=dry_run,
    )


@asynccontextmanager
async def tree(config: Config, *, dry_run: bool = False) -> AsyncIterator[tuple[Tree, Store]]:
    """The service's actor tree for ``config`` over its store, on the real clock."""
    clock = SystemClock()
    async with (
        await Store.open(config.service.db_path, clock=clock) as store,
        build_tree(config, store, clock, settings=quick_settings(dry_run=dry_run)) as running,
    ):
        yield running, store


async def run(running: Tree, flow: str, trigger: str = "test") -> RunFinished:
    """One run of ``flow`` through the tree's Scheduler and FlowRunner, as ``mlc sync`` runs it."""
    (finished,) = await running.run_flows([flow], trigger=trigger)
    assert finished.run_id is not None, finished.error
    return finished


def budget_totals(cells: BudgetCells) -> dict[tuple[str, int], Decimal]:
    """Sum per (GL account, fiscal year): the AccountBudget headers' totals."""
    totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for (account, year, _period), amount in cells.items():
        totals[(account, year)] += amount
    return dict(totals)
