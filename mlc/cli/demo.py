"""``mlc demo``: both directions end to end against the in-process sandbox, on a fresh machine.

Nothing to set up: the demo starts the Anaplan and Epicor emulators on free loopback ports, makes
a temporary state directory and vault key, stores the sandbox's demo credentials in the vault,
loads the shipped ``config.toml`` with its connections pointed at the sandbox (environment-style
overrides, so the file itself is what runs), then runs ``coa-align``, ``gl-actuals`` and
``ap-spend`` once through the same actor tree as the service. It prints what moved (records
loaded, quarantined, failed, time per run) and a short plan-vs-actual table read back from Anaplan
through two exports (``Export Approved Budget``, ``Export GL Actuals``). Then the same tree runs
``budget-to-gl`` — the approved Anaplan budget into Epicor's GL budgets — and the demo prints budget
vs actual for the fiscal year to date, read back from Epicor: revenue, costs and net income, then
net income per cost center (:mod:`mlc.flows.budget_report`). Both tables compare like with like
only when the flows convert signs (``credit-positive`` in, ``credit-negative`` out, as shipped);
otherwise the demo says so under the table. It removes its
temporary files (``--keep`` leaves them for a look with ``mlc audit``). Exit code 0 when no run
failed.

The shipped ``budget-to-gl`` has no period window: it writes every approved period, two budget
years on the sandbox. The demo narrows its own copy (``period_from``/``period_to`` overrides, as
any operator could) to the current fiscal year, which is all the report reads, so the demo stays
short; the shipped file is not changed.
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
from typing import TYPE_CHECKING, Any, TextIO

from mlc.cli.sync import add_log_option, print_outbound_result, print_summary
from mlc.errors import UsageError

if TYPE_CHECKING:
    from actors.tree import Tree
    from mlc.config import Config
    from mlc.messages import RunFinished
    from mlc.runtime import Clock

HELP = "run the flows of both directions once against the built-in sandbox and show what moved"

SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
DEMO_KINDS = ("coa-align", "gl-actuals", "ap-spend")
#: The outbound flow the demo runs after the inbound ones.
OUTBOUND_FLOW = "budget-to-gl"
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
        outbound = OUTBOUND_FLOW if _runs(config, OUTBOUND_FLOW) else None
        if outbound is not None:
            overrides.update(fiscal_year_window(config, outbound, clock))
            config = load_config(config_path, environ=overrides)
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
                if outbound is not None:
                    results.append(await demo_budget_to_gl(tree, outbound, sys.stdout))
    return 1 if any(result.status == "failed" for result in results) else 0


def _runs(config: Config, name: str) -> bool:
    from mlc.flows.outbound.options import is_outbound

    flow = config.flows.get(name)
    return flow is not None and flow.enabled and is_outbound(flow)


def fiscal_year_window(config: Config, flow: str, clock: Clock) -> dict[str, str]:
    """``MLC_*`` overrides limiting outbound ``flow`` to the current fiscal year."""
    import datetime as dt

    from mlc.flows.outbound.options import outbound_spec
    from mlc.flows.outbound.periods import FiscalPeriod, period_containing

    options = outbound_spec(flow, config.flows[flow]).options
    today = dt.datetime.fromtimestamp(clock.time(), dt.UTC).date()
    year = period_containing(today, options.fiscal_year_start_month).year
    prefix = f"MLC_FLOWS__{flow.upper().replace('-', '_')}__OPTIONS__"
    return {
        prefix + "PERIOD_FROM": str(FiscalPeriod(year, 1)),
        prefix + "PERIOD_TO": str(FiscalPeriod(year, 12)),
    }


async def demo_budget_to_gl(tree: Tree, flow: str, out: TextIO) -> RunFinished:
    """Run outbound ``flow`` once on ``tree``, print its summary, then budget vs actual for the
    current fiscal year to date, read back from Epicor (not from Anaplan): revenue, costs and net
    income, then net income per cost center (see :mod:`mlc.flows.budget_report`)."""
    import datetime as dt

    from mlc.flows.budget_report import format_budget_vs_actual, income_summary
    from mlc.flows.outbound.periods import period_containing
    from mlc.messages import BudgetVsActual, ReadBudgetVsActual, ReadTargetChart, TargetChart

    outbound = tree.outbound[flow]
    options = outbound.spec.options
    window = f", periods {options.period_from} to {options.period_to}" if options.period_to else ""
    print(
        f"\nrunning: {flow} (Anaplan {options.export!r} -> Epicor budgets){window}",
        file=out,
        flush=True,
    )
    (result,) = await tree.run_flows([flow], trigger="demo")
    print_outbound_result(result, out)
    today = dt.datetime.fromtimestamp(tree.clock.time(), dt.UTC).date()
    current = period_containing(today, options.fiscal_year_start_month)
    reports: dict[int, BudgetVsActual] = {}
    for segment in (options.cost_center_segment, options.account_segment):
        reports[segment] = await outbound.writer.ask(
            ReadBudgetVsActual(
                fiscal_year=current.year,
                budget_code=options.budget_code,
                book=options.book,
                cost_center_segment=segment,
                last_period=current.period,
            )
        )
    # Grouped on the natural-account segment, the same read splits revenue from costs.
    per_center, per_account = reports[options.cost_center_segment], reports[options.account_segment]
    chart: TargetChart = await outbound.writer.ask(
        ReadTargetChart(
            coa=options.coa,
            account_segment=options.account_segment,
            cost_center_segment=options.cost_center_segment,
        )
    )
    summary = income_summary(per_account.rows, frozenset(chart.credit_accounts))
    print(f"\n{format_budget_vs_actual(per_center, summary)}", file=out, flush=True)
    if options.sign_convention != "credit-negative":
        print(
            f"note: {flow} writes budgets {options.sign_convention!r}: revenue planned positive "
            'counts as a cost here (sign_convention = "credit-negative" keeps Epicor\'s sign)',
            file=out,
            flush=True,
        )
    return result


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
    booked = [
        name
        for name, flow in config.flows.items()
        if flow.kind == "gl-actuals"
        and flow.options.get("sign_convention", "as-booked") == "as-booked"
    ]
    if booked:
        print(
            f"note: {', '.join(booked)} loads balances as booked (debit - credit): revenue actuals "
            'are negative against a positive plan (sign_convention = "credit-positive" aligns them)'
        )


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
