"""Benchmark: the Epicor emulator serving a million GL period balance rows.

Starts the emulator as a subprocess (``--rows``, default 1,000,000) so its memory is measured
alone, pages through the balances over real HTTP the way a connector would — ``$top``/``$skip``
pages of the server cap (100) on ``GLPeriodBalSearches`` with ``$select``, several requests in
flight — then a keyset delta pull on ``SysRevID`` after a mutation, and prints rows per second and
the emulator's peak RSS (``VmHWM``). A figure, not a test.

    .venv/bin/python bench/epicor_million_rows.py                # every row
    .venv/bin/python bench/epicor_million_rows.py --pages 2000   # a spread sample of pages
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

SELECT = "BalanceAcct,FiscalYear,FiscalPeriod,BalanceAmt,DebitAmt,CreditAmt,SysRevID"
BALANCES = "Erp.BO.GLPeriodBalSearchSvc/GLPeriodBalSearches"


async def serve(rows: int) -> None:
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


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of ``pid`` in kB, from /proc."""
    figures: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                figures[name] = int(value.split()[0])
    return figures


async def fetch(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], params: dict[str, str]
) -> list[dict[str, Any]]:
    async with http.get(url, params=params, headers=headers) as reply:
        if reply.status != 200:
            raise SystemExit(f"GET {url} {params} → {reply.status}: {await reply.text()}")
        body = await reply.json()
        rows: list[dict[str, Any]] = body["value"]
        return rows


async def run(args: argparse.Namespace) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--rows",
        str(args.rows),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])},
    )
    assert process.stdout is not None
    started = time.perf_counter()
    section = json.loads(await process.stdout.readline())
    print(
        f"emulator up in {time.perf_counter() - started:.2f}s, rows={section['balance_rows']:,},"
        f" RSS {memory(process.pid)['VmRSS'] / 1024:.0f} MB"
    )
    headers = {
        "x-api-key": section["api_key"],
        "Authorization": aiohttp.encode_basic_auth(section["user"], section["password"]),
        "Accept": "application/json",
    }
    url = f"{section['base_url']}/api/v2/odata/{section['company']}/{BALANCES}"
    page = int(section["page_cap"])
    total_pages = -(-args.rows // page)
    if args.pages and args.pages < total_pages:
        step = total_pages / args.pages
        offsets = [int(i * step) * page for i in range(args.pages)]
    else:
        offsets = [i * page for i in range(total_pages)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for offset in offsets:
        queue.put_nowait(offset)
    fetched = 0
    peak_rss = 0

    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            nonlocal fetched
            while not queue.empty():
                offset = queue.get_nowait()
                rows = await fetch(
                    http, url, headers, {"$select": SELECT, "$top": str(page), "$skip": str(offset)}
                )
                fetched += len(rows)

        async def sampler() -> None:
            nonlocal peak_rss
            while True:
                peak_rss = max(peak_rss, memory(process.pid)["VmRSS"])
                await asyncio.sleep(0.5)

        watch = asyncio.create_task(sampler())
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - began
        print(
            f"offset paging: {len(offsets):,} pages, {fetched:,} rows in {elapsed:.1f}s → "
            f"{fetched / elapsed:,.0f} rows/s ({len(offsets) / elapsed:,.0f} requests/s, "
            f"{args.concurrency} in flight)"
        )

        newest = await fetch(
            http, url, headers, {"$orderby": "SysRevID desc", "$top": "1", "$select": "SysRevID"}
        )
        watermark = newest[0]["SysRevID"]
        async with http.post(
            f"{section['base_url'].rsplit('/', 1)[0]}/_sandbox/epicor/mutate",
            json={"set": "GLPeriodBalSearches", "count": 250},
        ) as reply:
            assert reply.status == 200, await reply.text()
        began = time.perf_counter()
        changed: list[dict[str, Any]] = []
        last = watermark
        while True:
            rows = await fetch(
                http,
                url,
                headers,
                {
                    "$filter": f"SysRevID gt {last}",
                    "$orderby": "SysRevID",
                    "$top": str(page),
                    "$select": SELECT,
                },
            )
            changed.extend(rows)
            if len(rows) < page:
                break
            last = rows[-1]["SysRevID"]
        print(
            f"delta pull (SysRevID gt watermark): {len(changed)} changed rows in "
            f"{time.perf_counter() - began:.2f}s"
        )
        watch.cancel()
    figures = memory(process.pid)
    peak = max(figures["VmHWM"], peak_rss)
    print(
        f"emulator RSS now {figures['VmRSS'] / 1024:.0f} MB, peak {peak / 1024:.0f} MB "
        f"(budget 300 MB)"
    )
    process.send_signal(signal.SIGTERM)
    await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=0, help="sample this many pages (0 = all)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.rows))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
