"""Benchmark: gl-actuals over N Epicor balance rows, through the actors, against `mlc sandbox`.

    .venv/bin/python bench/inbound_gl_actuals.py --rows 200000

The sandbox runs in its own process (``mlc sandbox --random-ports``), so the peak RSS printed is
the connector's alone. Prints rows read per second for a full load and for a delta run with no
change, peak RSS, and the requests each system received. Figures only; nothing is asserted.
Beyond the demo size the sandbox adds years of history the Anaplan model has no periods for;
Anaplan rejects those cells (the "rejected" column, from the failure dump), as it would.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from actors.tree import build_tree
from mlc.cli.demo import SHIPPED_CONFIG, sandbox_overrides, store_demo_credentials
from mlc.config import load_config
from mlc.logs import configure_logging
from mlc.messages import RunFinished, RunProgress
from mlc.runtime import SystemClock
from mlc.store import Store
from mlc.vault import Vault, generate_key, parse_key


def start_sandbox(rows: int, directory: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    urls_file = directory / "sandbox.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "mlc", "sandbox", "--random-ports", "--epicor-rows", str(rows),
         "--urls-file", str(urls_file)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not urls_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox did not start")
        time.sleep(0.1)
    return process, json.loads(urls_file.read_text())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def requests(url: str) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"{url}/_sandbox/counters") as answer:
        body = await answer.json()
    return sum(entry["count"] for entry in body["requests"])


async def bench(urls: dict[str, Any], directory: Path) -> None:
    configure_logging("warning", sys.stderr)
    config = load_config(SHIPPED_CONFIG, environ=sandbox_overrides(SHIPPED_CONFIG, urls, directory))
    clock = SystemClock()
    async with await Store.open(config.service.db_path, clock=clock) as store:
        vault = Vault(store, parse_key(generate_key().encode(), "bench key"))
        await store_demo_credentials(config, vault, urls)
        async with build_tree(config, store, clock, vault=vault) as tree:
            rows_read = 0

            def progress(update: RunProgress) -> None:
                nonlocal rows_read
                if update.flow == "gl-actuals":
                    rows_read = max(rows_read, update.source_rows)

            tree.on_progress(progress)
            await tree.run_flows(["coa-align"])
            for label in ("full load", "delta, no change"):
                rows_read = 0
                cpu = time.process_time()
                started = time.perf_counter()
                result: RunFinished = (await tree.run_flows(["gl-actuals"]))[0]
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu
                tally = result.tally
                print(
                    f"gl-actuals {label:<17} {result.status:<9} {rows_read:>9,} rows read  "
                    f"{tally.loaded:>8,} cells loaded  {tally.failed:>6,} rejected  "
                    f"{tally.quarantined:>6,} quarantined  {seconds:7.1f} s "
                    f"({cpu:.1f} s CPU in the connector)  {rows_read / seconds:>8,.0f} rows/s"
                )
    print(f"peak RSS of the connector: {peak_rss_mb():.0f} MB")
    print(
        f"requests to Epicor: {await requests(str(urls['epicor']['base_url']).rsplit('/', 1)[0])}"
    )
    print(f"requests to Anaplan: {await requests(str(urls['anaplan']['api_url']))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="Epicor balance rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlc-bench-") as tmp:
        directory = Path(tmp)
        sandbox, urls = start_sandbox(args.rows, directory)
        try:
            print(f"sandbox: {args.rows:,} GL period balance rows (periods 0..12)")
            anyio.run(bench, urls, directory / "state")
        finally:
            os.kill(sandbox.pid, signal.SIGTERM)
            sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
