"""``mlc demo``: the inbound path end to end against the in-process sandbox, on a fresh machine.

Nothing to set up: the demo starts the Anaplan and Epicor emulators on free loopback ports, makes
a temporary state directory and vault key, stores the sandbox's demo credentials in the vault,
loads the shipped ``config.toml`` with its connections pointed at the sandbox (environment-style
overrides, so the file itself is what runs), then runs ``coa-align``, ``gl-actuals`` and
``ap-spend`` once through the same actors as the service. It prints what moved (records loaded,
quarantined, failed, time per run) and a short plan-vs-actual table read back from Anaplan through
two exports (``Export Approved Budget``, ``Export GL Actuals``), then removes its temporary files
(``--keep`` leaves them, with the config overrides printed, for a look with ``mlc audit``).
Exit code 0 when no run failed.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlc.cli.sync import add_log_option, print_summary
from mlc.errors import UsageError

if TYPE_CHECKING:
    from actors.tree import Tree
    from mlc.config import Config

HELP = "run the inbound flows once against the built-in sandbox and show what moved"

SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
DEMO_KINDS = ("coa-align", "gl-actuals", "ap-spend")
PLAN_EXPORT = "Export Approved Budget"
ACTUAL_EXPORT = "Export GL Actuals"
TOP_ACCOUNTS = 8


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=SHIPPED_CONFIG,
        metavar="FILE",
        help="configuration whose flows run (default: the repository's config.toml); its "
        "connections are pointed at the sandbox",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary state directory")
    add_log_option(parser)


def run(args: argparse.Namespace) -> int:
    import anyio

    from mlc.logs import configure_logging

    configure_logging(args.log_level, sys.stderr)
    if not args.config.is_file():
        raise UsageError(f"{args.config}: no such configuration file (pass --config FILE)")
    work = Path(tempfile.mkdtemp(prefix="mlc-demo-"))
    try:
        code: int = anyio.run(_demo, args.config, work, backend="asyncio")
    finally:
        if args.keep:
            print(f"state kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return code


def sandbox_overrides(
    config_path: Path, urls: Mapping[str, Mapping[str, Any]], state_dir: Path
) -> dict[str, str]:
    """``MLC_*`` overrides pointing every connection of the config at the sandbox."""
    import tomllib

    with config_path.open("rb") as file:
        raw = tomllib.load(file)
    connections = raw.get("connections", {})
    anaplan, epicor = urls["anaplan"], urls["epicor"]
    env = {"MLC_SERVICE__STATE_DIR": str(state_dir), "MLC_SERVICE__HTTP_PORT": "0"}
    for name in connections.get("anaplan", {}):
        prefix = f"MLC_CONNECTIONS__ANAPLAN__{name.upper()}__"
        for key in ("auth_url", "api_url", "oauth_url", "cloudworks_url", "user", "workspace",
                    "model"):  # fmt: skip
            env[prefix + key.upper()] = str(anaplan[key])
        env[prefix + "AUTH"] = "basic"
    for name in connections.get("epicor", {}):
        prefix = f"MLC_CONNECTIONS__EPICOR__{name.upper()}__"
        for key in ("base_url", "company", "user", "idp_url", "client_id"):
            env[prefix + key.upper()] = str(epicor[key])
        env[prefix + "AUTH"] = "basic"
    return env


async def store_demo_credentials(config: Config, vault: Any, urls: Mapping[str, Any]) -> None:
    anaplan, epicor = urls["anaplan"], urls["epicor"]
    for name in config.connections.anaplan:
        await vault.set(f"anaplan.{name}.password", str(anaplan["password"]))
    for name in config.connections.epicor:
        await vault.set(f"epicor.{name}.password", str(epicor["password"]))
        await vault.set(f"epicor.{name}.api_key", str(epicor["api_key"]))
        await vault.set(f"epicor.{name}.client_secret", str(epicor["client_secret"]))


async def _demo(config_path: Path, work: Path) -> int:
    from actors.anaplan_model import ModelSettings
    from actors.tree import TreeSettings, build_tree
    from mlc.anaplan.polling import PollSchedule
    from mlc.config import load_config
    from mlc.runtime import SystemClock
    from mlc.sandbox import open_sandbox
    from mlc.store import Store
    from mlc.vault import Vault, generate_key, parse_key

    clock = SystemClock()
    async with open_sandbox() as sandbox:
        urls = sandbox.urls
        overrides = sandbox_overrides(config_path, urls, work / "state")
        config = load_config(config_path, environ=overrides)
        flows = [name for name, flow in config.flows.items() if flow.kind in DEMO_KINDS]
        if not flows:
            raise UsageError(f"{config_path}: no coa-align, gl-actuals or ap-spend flow to run")
        print(f"sandbox: Anaplan {urls['anaplan']['api_url']}, Epicor {urls['epicor']['base_url']}")
        print(f"config:  {config_path} (connections pointed at the sandbox); state in {work}")
        async with await Store.open(config.service.db_path, clock=clock) as store:
            vault = Vault(store, parse_key(generate_key().encode(), "the demo key"))
            await store_demo_credentials(config, vault, urls)
            # The sandbox is local: poll its tasks more briskly than Anaplan's 5-second guidance.
            settings = TreeSettings(
                model=ModelSettings(
                    busy_poll_seconds=1.0,
                    poll=PollSchedule(first=0.25, fast_for=10.0, cadence=0.5, cap=2.0),
                )
            )
            async with build_tree(config, store, clock, vault=vault, settings=settings) as tree:
                print(f"running: {', '.join(flows)}\n")
                results = await tree.run_flows(flows, trigger="demo")
                print_summary(results, sys.stdout)
                await _plan_vs_actual(tree, config, work)
    return 1 if any(result.status == "failed" for result in results) else 0


async def _plan_vs_actual(tree: Tree, config: Config, work: Path) -> None:
    from mlc.messages import ExportedFile, RunExport

    if not tree.models:
        return
    target, model = next(iter(tree.models.items()))
    name = target.split(".", 1)[1]
    files: dict[str, Path] = {}
    for export in (PLAN_EXPORT, ACTUAL_EXPORT):
        exported: ExportedFile = await model.ask(
            RunExport(
                export_name=export,
                destination=str(work / f"{export}.csv"),
                busy_timeout=600.0,
            )
        )
        files[export] = Path(exported.path)
    plan = _by_account_and_period(files[PLAN_EXPORT])
    actual = _by_account_and_period(files[ACTUAL_EXPORT])
    periods = sorted({p for _, p in actual} & {p for _, p in plan}, key=_period_order)
    if not periods:
        print("\nplan vs actual: no period has both budget and actuals")
        return
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for account in {a for a, _ in actual}:
        budget = sum((plan.get((account, p), Decimal(0)) for p in periods), Decimal(0))
        spent = sum((actual.get((account, p), Decimal(0)) for p in periods), Decimal(0))
        if budget:
            totals[account] = (budget, spent)
    top = sorted(totals.items(), key=lambda item: abs(item[1][1]), reverse=True)[:TOP_ACCOUNTS]
    model_name = config.connections.anaplan[name].model
    print(
        f"\nplan vs actual, {periods[0]} to {periods[-1]} (read back from Anaplan model "
        f"{model_name!r}: {PLAN_EXPORT!r}, {ACTUAL_EXPORT!r})"
    )
    print(f"{'account':<8} {'budget':>16} {'actual':>16} {'variance':>16} {'var %':>7}")
    for account, (budget, spent) in top:
        variance = spent - budget
        share = f"{variance / budget * 100:+.1f}%" if budget else "-"
        print(f"{account:<8} {budget:>16,.2f} {spent:>16,.2f} {variance:>16,.2f} {share:>7}")


def _by_account_and_period(path: Path) -> dict[tuple[str, str], Decimal]:
    """``{(account, period): amount}`` summed over cost centers, from a module export."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with path.open(encoding="utf-8-sig", newline="") as file:
        for row in csv.DictReader(file):
            try:
                amount = Decimal(row.get("Amount") or "0")
            except InvalidOperation:
                continue
            sums[(row.get("Account", ""), row.get("Period", ""))] += amount
    return dict(sums)


_MONTHS = {name: index for index, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
)}  # fmt: skip


def _period_order(name: str) -> tuple[str, int, str]:
    month, _, year = name.partition(" ")
    return (year, _MONTHS.get(month, 99), name)
