"""A harness for the inbound path against the in-process sandbox: real HTTP, real SQLite.

The connector runs on the real clock with brisk polling (tens of milliseconds), while the outside
world's slow parts — Anaplan task durations, CloudWorks runs, token lifetimes — run on the
sandbox clock, which the tests move forward through ``/_sandbox/clock`` instead of waiting.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

from actors.anaplan_model import ModelSettings
from actors.tree import Tree, TreeSettings, build_tree
from mlc.anaplan.auth import BasicTokenSource
from mlc.anaplan.client import AnaplanClient
from mlc.anaplan.polling import PollSchedule
from mlc.anaplan.transport import AnaplanTransport
from mlc.cli.demo import SHIPPED_CONFIG, sandbox_overrides, store_demo_credentials
from mlc.config import Config, load_config
from mlc.epicor import entities
from mlc.epicor.auth import BasicAuthenticator
from mlc.epicor.client import EpicorClient
from mlc.epicor.paging import PagingMode
from mlc.epicor.transport import EpicorSettings
from mlc.http import HttpConnection
from mlc.messages import ExportedFile, RunExport, Token
from mlc.runtime import SystemClock
from mlc.sandbox import RunningSandbox, open_sandbox
from mlc.sandbox.anaplan import AnaplanOptions
from mlc.sandbox.common.chart import ANAPLAN_LAGS_BEHIND
from mlc.sandbox.epicor import EpicorOptions
from mlc.store import Store
from mlc.vault import Vault, generate_key, parse_key

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: ``(account, cost center, fiscal year, fiscal period)``
Cell = tuple[str, str, int, int]

#: Brisk, but within Anaplan's 600 requests a minute (the client-side limiter would slow us).
FAST = TreeSettings(
    model=ModelSettings(
        busy_poll_seconds=0.2,
        poll=PollSchedule(first=0.05, fast_for=0.5, cadence=0.2, cap=0.5),
    )
)


def cell_of_period_name(account: str, cost_center: str, period: str) -> Cell:
    """``("6100", "21", "Mar 26")`` → ``("6100", "21", 2026, 3)`` (calendar-aligned demo year)."""
    month, _, year = period.partition(" ")
    return account, cost_center, 2000 + int(year), MONTHS.index(month) + 1


def anaplan_has(cell: Cell) -> bool:
    """Whether the sandbox's Anaplan lists have the cell's codes on a fresh sandbox."""
    return (
        cell[0] not in ANAPLAN_LAGS_BEHIND["Accounts"]
        and cell[1] not in ANAPLAN_LAGS_BEHIND["Cost Centers"]
    )


@dataclass(eq=False)
class Inbound:
    sandbox: RunningSandbox
    config: Config
    config_env: dict[str, str]
    store: Store
    vault: Vault
    tmp: Path
    http: aiohttp.ClientSession
    vault_key: str
    settings: TreeSettings = FAST
    trees: list[Tree] = field(default_factory=list)

    def tree(self) -> AbstractAsyncContextManager[Tree]:
        return build_tree(
            self.config, self.store, SystemClock(), vault=self.vault, settings=self.settings
        )

    # --- the sandbox's control API ---------------------------------------------------------

    def host(self, system: str, role: str) -> str:
        return self.sandbox.hosts[system][role]

    async def control(self, system: str, path: str, body: dict[str, Any]) -> Any:
        role = "api"
        async with self.http.post(f"{self.host(system, role)}/_sandbox/{path}", json=body) as r:
            assert r.status < 300, await r.text()
            return await r.json()

    async def advance(self, seconds: float) -> None:
        await self.control("anaplan", "clock", {"advance": seconds})

    async def requests(self, system: str, role: str) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.host(system, role)}/_sandbox/counters") as response:
            body = await response.json()
        return [r for r in body["requests"] if r["host"] == role]

    async def domain_counters(self, system: str) -> dict[str, int]:
        async with self.http.get(f"{self.host(system, 'api')}/_sandbox/counters") as response:
            body = await response.json()
        counters: dict[str, int] = body["counters"]
        return counters

    async def count(self, method: str, route_suffix: str, *, system: str = "anaplan",
                    role: str = "api") -> int:  # fmt: skip
        return sum(
            r["count"]
            for r in await self.requests(system, role)
            if r["method"] == method and r["route"].endswith(route_suffix)
        )

    async def reset_counters(self, system: str) -> None:
        async with self.http.post(f"{self.host(system, 'api')}/_sandbox/counters/reset") as r:
            assert r.status < 300

    @staticmethod
    async def wait_until(predicate: Callable[[], Any], *, within: float = 20.0) -> None:
        """Poll an async predicate until it holds, for at most ``within`` seconds."""
        with anyio.fail_after(within):
            while True:
                if await predicate():
                    return
                await anyio.sleep(0.01)

    cell_of_period_name = staticmethod(cell_of_period_name)
    anaplan_has = staticmethod(anaplan_has)

    # --- reading both sides ----------------------------------------------------------------

    @asynccontextmanager
    async def epicor_client(self) -> AsyncIterator[EpicorClient]:
        """The test's own Epicor client over HTTP (outside the connector's actors)."""
        urls = self.sandbox.urls["epicor"]
        async with HttpConnection("epicor.check", str(urls["base_url"]), system="epicor") as http:
            auth = BasicAuthenticator(
                "epicor.check", str(urls["user"]), str(urls["password"]), str(urls["api_key"])
            )
            yield EpicorClient(http, auth, EpicorSettings("epicor.check", str(urls["company"])))

    async def epicor_balances(self) -> list[tuple[str, int, int, Decimal]]:
        """``(BalanceAcct, year, period, BalanceAmt)`` of every detail balance of book MAIN in
        periods 1..12, read over HTTP with the Epicor client."""
        found: list[tuple[str, int, int, Decimal]] = []
        async with self.epicor_client() as client:
            where = "BookID eq 'MAIN' and BalanceType eq 'D' and FiscalPeriod ge 1"
            async for page in client.pages(
                entities.GL_PERIOD_BALANCES, where=where, paging=PagingMode.KEYSET
            ):
                found.extend(
                    (row.BalanceAcct, row.FiscalYear, row.FiscalPeriod, row.BalanceAmt)
                    for row in page
                )
        return found

    async def normal_balances(self) -> dict[str, str]:
        """Natural account → ``COASegValues.NormalBalance`` of chart MAIN's segment 1."""
        async with self.epicor_client() as client:
            where = "COACode eq 'MAIN' and SegmentNbr eq 1"
            return {
                row.SegmentCode: row.NormalBalance
                async for row in client.rows(entities.COA_SEG_VALUES, where=where)
            }

    async def set_normal_balance(self, account: str, normal: str) -> None:
        """Change a natural account's ``NormalBalance`` in Epicor, by an OData ``PATCH``."""
        urls = self.sandbox.urls["epicor"]
        url = (
            f"{urls['base_url']}/api/v2/odata/{urls['company']}/Erp.BO.COASegValuesSvc/"
            f"COASegValues('{urls['company']}','MAIN',1,'{account}')"
        )
        pair = f"{urls['user']}:{urls['password']}".encode()
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair).decode(),
            "x-api-key": str(urls["api_key"]),
        }
        async with self.http.patch(url, json={"NormalBalance": normal}, headers=headers) as reply:
            assert reply.status == 204, await reply.text()

    def configured_convention(self) -> str:
        convention = self.config.flows["gl-actuals"].options.get("sign_convention", "as-booked")
        assert isinstance(convention, str)
        return convention

    async def epicor_cells(self, convention: str | None = None) -> dict[Cell, Decimal]:
        """The Epicor balances summed per target cell (natural account, cost center, period), in
        ``convention`` (default: the configured gl-actuals flow's): ``credit-positive`` negates
        the cells of natural accounts whose normal balance Epicor holds as ``C``."""
        convention = convention or self.configured_convention()
        credit = {code for code, normal in (await self.normal_balances()).items() if normal == "C"}
        sums: dict[Cell, Decimal] = {}
        for account, year, period, amount in await self.epicor_balances():
            natural, center, *_ = account.split("|")
            cell = (natural, center, year, period)
            sums[cell] = sums.get(cell, Decimal(0)) + amount
        if convention == "credit-positive":
            return {cell: -amount if cell[0] in credit else amount for cell, amount in sums.items()}
        assert convention == "as-booked", convention
        return sums

    async def export(self, tree: Tree, name: str) -> list[dict[str, str]]:
        destination = self.tmp / f"{name}.csv"
        exported: ExportedFile = await tree.models["anaplan.fpa"].ask(
            RunExport(export_name=name, destination=str(destination), busy_timeout=30.0)
        )
        text = await anyio.Path(exported.path).read_text(encoding="utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    async def uploaded_rows(self, file_name: str) -> list[dict[str, str]]:
        """The CSV last uploaded into the model's import file ``file_name``, read back over the
        Integration API (a user may download the private content of a file it uploaded)."""
        urls = self.sandbox.urls["anaplan"]
        async with (
            HttpConnection("anaplan.check", str(urls["auth_url"]), system="anaplan") as auth_http,
            HttpConnection("anaplan.check", str(urls["api_url"]), system="anaplan") as api_http,
        ):
            source = BasicTokenSource(
                "anaplan.check", auth_http, str(urls["auth_url"]), str(urls["user"]),
                str(urls["password"]), SystemClock(),
            )  # fmt: skip
            token = await source.acquire()
            client = AnaplanClient(AnaplanTransport("anaplan.check", api_http, Signed(token)))
            model = client.model(await client.resolve(str(urls["workspace"]), str(urls["model"])))
            [file] = [f for f in await model.files() if f.name == file_name]
            data = b"".join([piece async for piece in model.download_export(file.id)])
        return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))

    async def anaplan_gl_cells(self, tree: Tree) -> dict[Cell, Decimal]:
        rows = await self.export(tree, "Export GL Actuals")
        return {
            cell_of_period_name(row["Account"], row["Cost Center"], row["Period"]): Decimal(
                row["Amount"]
            )
            for row in rows
            if row["Version"] == "Actual"
        }


class Signed:
    """Signs requests with one fixed token (the test's own reads, outside the connector)."""

    def __init__(self, token: Token) -> None:
        self._headers = {"Authorization": token.authorization}

    async def headers(self) -> Mapping[str, str]:
        return self._headers

    async def on_rejected(self, sent_headers: Mapping[str, str]) -> None:
        raise AssertionError("the test's token was rejected")


SandboxOptions = Callable[[], tuple[AnaplanOptions, EpicorOptions]]


def fast_sandbox_options(**anaplan: Any) -> tuple[AnaplanOptions, EpicorOptions]:
    values: dict[str, Any] = {"task_base_seconds": 0.05, "task_seconds_per_row": 0.0}
    values.update(anaplan)
    return AnaplanOptions(**values), EpicorOptions()


@pytest.fixture
def sandbox_options() -> tuple[AnaplanOptions, EpicorOptions]:
    """Override in a test module (or parametrize) to change the emulators."""
    return fast_sandbox_options()


@pytest.fixture
async def inbound(
    tmp_path: Path, sandbox_options: tuple[AnaplanOptions, EpicorOptions]
) -> AsyncIterator[Inbound]:
    anaplan_options, epicor_options = sandbox_options
    async with open_sandbox(anaplan=anaplan_options, epicor=epicor_options) as sandbox:
        env = sandbox_overrides(SHIPPED_CONFIG, sandbox.urls, tmp_path / "state")
        config = load_config(SHIPPED_CONFIG, environ=env)
        async with await Store.open(config.service.db_path) as store:
            key = generate_key()
            vault = Vault(store, parse_key(key.encode(), "test key"))
            await store_demo_credentials(config, vault, sandbox.urls)
            async with aiohttp.ClientSession() as http:
                yield Inbound(sandbox, config, env, store, vault, tmp_path, http, key)
