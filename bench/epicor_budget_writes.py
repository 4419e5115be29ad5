"""Benchmark: writing account budgets into the Epicor emulator through ``UpdateExt``.

Starts the emulator as a subprocess (the natural demo tenant, or ``--rows`` balance rows, which
also scales the seeded budgets: ~19,000 periods at 1,000,000) and writes two fiscal years of
budgets for ~140 GL accounts x 12 periods over real HTTP, the way the connector's Epicor writer
does: ``Erp.BO.AccountBudgetSvc/UpdateExt`` calls of ``--headers-per-call`` headers (25, as the
writer sends) with their periods, ``continueProcessingOnError`` false. The first pass creates the
rows, the second overwrites every amount (the upsert's update branch). Prints detail rows per
second for each pass and the emulator's CPU seconds (from /proc), so the emulator's share of the
time is visible. A figure, not a test.

    .venv/bin/python bench/epicor_budget_writes.py
    .venv/bin/python bench/epicor_budget_writes.py --accounts 60 --headers-per-call 1
    .venv/bin/python bench/epicor_budget_writes.py --rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from typing import Any

import aiohttp

SERVICE = "Erp.BO.AccountBudgetSvc"
ACCOUNTS = "Erp.BO.GLAccountSvc/GLAccounts"


async def serve(rows: int | None) -> None:
    from mlc.sandbox.common.clock import SandboxClock
    from mlc.sandbox.common.server import serve_emulator
    from mlc.sandbox.epicor import EpicorOptions, build_emulator

    emulator = build_emulator(EpicorOptions(rows=rows), SandboxClock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with serve_emulator(emulator) as urls:
        print(json.dumps(emulator.describe(urls)), flush=True)
        await stop.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid``, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def active_accounts(
    http: aiohttp.ClientSession, odata: str, headers: dict[str, str], wanted: int
) -> list[str]:
    accounts: list[str] = []
    while len(accounts) < wanted:
        params = {"$select": "GLAccount1,Active", "$top": "100", "$skip": str(len(accounts))}
        async with http.get(f"{odata}/{ACCOUNTS}", params=params, headers=headers) as reply:
            if reply.status != 200:
                raise SystemExit(f"GET {ACCOUNTS} → {reply.status}: {await reply.text()}")
            page: list[dict[str, Any]] = (await reply.json())["value"]
        accounts.extend(row["GLAccount1"] for row in page if row["Active"])
        if len(page) < 100:
            break
    return accounts[:wanted]


def bodies(
    accounts: list[str], years: list[int], per_call: int, scale: int
) -> list[dict[str, Any]]:
    heads = [(account, year) for year in years for account in accounts]
    out: list[dict[str, Any]] = []
    for start in range(0, len(heads), per_call):
        batch_heads: list[dict[str, Any]] = []
        batch_details: list[dict[str, Any]] = []
        for index, (account, year) in enumerate(heads[start : start + per_call], start):
            key = {
                "Company": "EPIC06",
                "BookID": "MAIN",
                "BalanceAcct": account,
                "BalanceType": "D",
                "FiscalYear": year,
                "FiscalYearSuffix": "",
                "FiscalCalendarID": "MAIN",
                "BudgetCodeID": "FCST",
            }
            batch_heads.append({**key, "RowMod": "A"})
            batch_details.extend(
                {
                    **key,
                    "FiscalPeriod": period,
                    "BudgetAmt": f"{scale * (index * 12 + period)}.25",
                    "RowMod": "A",
                }
                for period in range(1, 13)
            )
        out.append(
            {
                "ds": {"GLBudgetHd": batch_heads, "GLBudgetDtl": batch_details},
                "continueProcessingOnError": False,
                "rollbackParentOnChildError": True,
            }
        )
    return out


async def write_pass(
    http: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    calls: list[dict[str, Any]],
    pid: int,
    label: str,
) -> None:
    rows = sum(len(body["ds"]["GLBudgetDtl"]) for body in calls)
    cpu_before = cpu_seconds(pid)
    began = time.perf_counter()
    for body in calls:
        async with http.post(url, json=body, headers=headers) as reply:
            text = await reply.text()
            if reply.status != 200 or json.loads(text)["parameters"]["errorsOccurred"]:
                raise SystemExit(f"POST {SERVICE}/UpdateExt → {reply.status}: {text[:500]}")
    elapsed = time.perf_counter() - began
    cpu = cpu_seconds(pid) - cpu_before
    print(
        f"{label}: {len(calls)} UpdateExt calls, {rows:,} detail rows in {elapsed:.2f}s → "
        f"{rows / elapsed:,.0f} rows/s (emulator CPU {cpu:.2f}s)"
    )


async def run(args: argparse.Namespace) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        *(["--rows", str(args.rows)] if args.rows is not None else []),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])},
    )
    assert process.stdout is not None
    try:
        section = json.loads(await process.stdout.readline())
        headers = {
            "x-api-key": section["api_key"],
            "Authorization": aiohttp.encode_basic_auth(section["user"], section["password"]),
            "Accept": "application/json",
        }
        odata = f"{section['base_url']}/api/v2/odata/{section['company']}"
        year = int(section["fiscal_year"])
        async with aiohttp.ClientSession() as http:
            accounts = await active_accounts(http, odata, headers, args.accounts)
            years = [year, year + 1]
            print(
                f"{len(accounts)} accounts x {len(years)} years x 12 periods, "
                f"{args.headers_per_call} headers per UpdateExt call"
            )
            url = f"{odata}/{SERVICE}/UpdateExt"
            for label, scale in (("create pass", 1), ("update pass", 3)):
                calls = bodies(accounts, years, args.headers_per_call, scale)
                await write_pass(http, url, headers, calls, process.pid, label)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--accounts", type=int, default=140)
    parser.add_argument("--headers-per-call", type=int, default=25)
    parser.add_argument("--rows", type=int, default=None, help="balance rows (default: natural)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.rows))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
