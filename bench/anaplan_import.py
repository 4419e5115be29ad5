"""Anaplan emulator throughput: upload, import and export of a large GL file over real HTTP.

    .venv/bin/python bench/anaplan_import.py --rows 100000

Prints rows per second for each phase and the process's peak RSS (the emulator runs in this
process, so that is the emulator's footprint plus the client's). Task durations are set to zero so
the figures measure the engine (CSV parsing, validation, cell writes, export writing), not the
emulated Anaplan processing time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import gzip
import io
import resource
import time
from itertools import cycle, islice

import aiohttp

from mlc.sandbox.anaplan import AnaplanOptions, build_emulator
from mlc.sandbox.common import chart
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.server import serve_emulator

CHUNK_BYTES = 10 * 1024 * 1024


def gl_rows(count: int, fiscal_year: int) -> bytes:
    lagging = chart.ANAPLAN_LAGS_BEHIND
    accounts = [a.code for a in chart.NATURAL_ACCOUNTS if a.code not in lagging["Accounts"]]
    centers = [c.code for c in chart.COST_CENTERS if c.code not in lagging["Cost Centers"]]
    periods = [
        chart.anaplan_period_name(year, month)
        for year in (fiscal_year - 1, fiscal_year)
        for month in range(1, 13)
    ]
    combos = ((a, c, p) for p in periods for c in centers for a in accounts)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Account", "Cost Center", "Period", "Version", "Amount"])
    for index, (account, center, period) in enumerate(islice(cycle(combos), count)):
        writer.writerow([account, center, period, "Actual", f"{(index % 9973) * 1.25:.2f}"])
    return out.getvalue().encode()


async def main(rows: int) -> None:
    options = AnaplanOptions(
        task_base_seconds=0.0, task_seconds_per_row=0.0, rate_limit_per_minute=0
    )
    emulator = build_emulator(options, SandboxClock())
    async with serve_emulator(emulator) as urls, aiohttp.ClientSession() as http:
        info = emulator.describe(urls)
        basic = base64.b64encode(f"{info['user']}:{info['password']}".encode()).decode()
        async with http.post(
            f"{urls['auth']}/token/authenticate", headers={"Authorization": f"Basic {basic}"}
        ) as r:
            token = (await r.json())["tokenInfo"]["tokenValue"]
        headers = {"Authorization": f"AnaplanAuthToken {token}"}
        base = f"{urls['api']}/2/0/workspaces/{info['workspace_id']}/models/{info['model_id']}"
        async with http.get(f"{base}/imports", headers=headers) as r:
            load = next(i for i in (await r.json())["imports"] if i["name"] == "Load GL Actuals")
        async with http.get(f"{base}/exports", headers=headers) as r:
            exports = (await r.json())["exports"]
            export = next(e for e in exports if e["name"] == "Export GL Actuals")

        data = gl_rows(rows, int(str(info["fiscal_year"])))
        started = time.perf_counter()
        chunks = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
        file_url = f"{base}/files/{load['importDataSourceId']}"
        async with http.post(file_url, headers=headers, json={"chunkCount": len(chunks)}) as r:
            assert r.status == 200
        for number, chunk in enumerate(chunks):
            async with http.put(
                f"{file_url}/chunks/{number}",
                data=gzip.compress(chunk, compresslevel=1),
                headers={**headers, "Content-Type": "application/x-gzip"},
            ) as r:
                assert r.status == 204
        uploaded = time.perf_counter()

        async def run(kind: str, action_id: str) -> dict[str, object]:
            async with http.post(
                f"{base}/{kind}/{action_id}/tasks", headers=headers, json={"localeName": "en_US"}
            ) as r:
                task_id = (await r.json())["task"]["taskId"]
            while True:
                url = f"{base}/{kind}/{action_id}/tasks/{task_id}"
                async with http.get(url, headers=headers) as r:
                    task = (await r.json())["task"]
                if task["taskState"] == "COMPLETE":
                    result: dict[str, object] = task["result"]
                    return result

        imported = await run("imports", load["id"])
        import_done = time.perf_counter()
        await run("exports", export["id"])
        export_done = time.perf_counter()
        async with http.get(f"{base}/files/{export['id']}/chunks", headers=headers) as r:
            listing = (await r.json()).get("chunks", [])
        size = lines = 0
        for chunk in listing:
            url = f"{base}/files/{export['id']}/chunks/{chunk['id']}"
            async with http.get(url, headers=headers) as r:
                body = await r.read()
                size += len(body)
                lines += body.count(b"\n")
        downloaded = time.perf_counter()
    emulator.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows                 {rows}")
    print(f"file                 {len(data) / 1e6:.1f} MB in {len(chunks)} gzip chunk(s)")
    print(f"upload               {rows / (uploaded - started):,.0f} rows/s")
    rate = rows / (import_done - uploaded)
    print(f"import               {rate:,.0f} rows/s  successful={imported['successful']}")
    exported = lines - 1
    rate = exported / (export_done - import_done)
    print(f"export               {rate:,.0f} rows/s ({exported} rows)")
    print(f"download             {size / 1e6 / (downloaded - export_done):,.1f} MB/s")
    print(f"peak RSS             {peak_mb:,.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().rows))
