"""``mlc sync FLOW…``: run flows once, in the foreground, through the same actors as the service.

For first set-up and for operators: the flows run in order (``coa-align`` before the value flows),
the terminal shows each run's phase, rows read and rate as it goes, then one summary line per run.
Exit code 0 when every run succeeded or was ``partial`` (some records quarantined or rejected,
listed by ``mlc audit show RUN``), 1 when one failed, 2 for a usage or configuration error. Logs
(JSON lines) go to stderr at ``--log-level`` (default ``warning``), so stdout stays readable.

A sync refuses to run beside ``mlc run`` on the same state directory (its pid file is held): the
model lock and the spools belong to one process; ``mlc trigger`` asks the service instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from mlc.cli.creds import add_config_option
from mlc.errors import UsageError

if TYPE_CHECKING:
    from mlc.config import Config
    from mlc.messages import RunFinished, RunProgress
    from mlc.store import Store
    from mlc.vault import Vault

HELP = "run flows once in the foreground (coa-align, gl-actuals, ap-spend)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flows", nargs="+", metavar="FLOW", help="flow names from the config")
    add_config_option(parser)
    parser.add_argument(
        "--full", action="store_true", help="ignore the watermark: read and send everything"
    )
    add_log_option(parser)


def add_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="level of the JSON log lines written to stderr (default: warning)",
    )


def run(args: argparse.Namespace) -> int:
    import anyio

    from mlc.config import load_config
    from mlc.logs import configure_logging

    configure_logging(args.log_level, sys.stderr)
    config = load_config(args.config)
    refuse_beside_service(config)
    code: int = anyio.run(_sync, config, list(args.flows), bool(args.full), backend="asyncio")
    return code


async def _sync(config: Config, flows: list[str], full: bool) -> int:
    from actors.tree import build_tree
    from mlc.runtime import SystemClock
    from mlc.store import Store

    clock = SystemClock()
    async with await Store.open(config.service.db_path, clock=clock) as store:
        vault = open_vault(config, store)
        async with build_tree(config, store, clock, vault=vault) as tree:
            progress = ProgressPrinter(sys.stdout)
            tree.on_progress(progress.update)
            results = await tree.run_flows(flows, trigger="sync", full=full)
            progress.clear()
    print_summary(results, sys.stdout)
    return 1 if any(result.status == "failed" for result in results) else 0


def refuse_beside_service(config: Config) -> None:
    """One process loads a state directory's flows at a time: the model lock, the watermarks and
    the spools are per process, so a sync beside a running service could overlap its imports."""
    from mlc.ops.pidfile import running_service

    pid = running_service(config.service.pid_path)
    if pid is not None:
        raise UsageError(
            f"the service (mlc run, pid {pid}) is running with state directory "
            f"{config.service.state_dir}; ask it to run flows with `mlc trigger FLOW…` instead"
        )


def open_vault(config: Config, store: Store) -> Vault | None:
    """The vault when a key is configured, else ``None`` (credentials may all come from the
    environment or mounted secret files; a missing one is then reported by name)."""
    from mlc.vault import KEY_ENV, Vault, load_key

    if not config.vault.key_file and not os.environ.get(KEY_ENV, "").strip():
        return None
    return Vault(store, load_key(config.vault.key_file))


class ProgressPrinter:
    """One status line per run: rewritten in place on a terminal, one line per phase otherwise."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._last: tuple[str, str] | None = None
        self._width = 0

    def update(self, progress: RunProgress) -> None:
        tally = progress.tally
        rate = progress.source_rows / progress.elapsed if progress.elapsed > 0 else 0.0
        line = (
            f"{progress.flow:<14} run {progress.run_id:<5} {progress.phase:<9} "
            f"{progress.source_rows:>9,} rows read  {rate:>9,.0f} rows/s  "
            f"{tally.loaded:>7,} loaded  {tally.quarantined:>5,} quarantined"
        )
        if self._tty:
            self._out.write("\r" + line.ljust(self._width))
            self._width = len(line)
            if progress.phase == "done":
                self._out.write("\n")
                self._width = 0
            self._out.flush()
            return
        key = (progress.flow, progress.phase)
        if key != self._last:
            self._last = key
            print(line, file=self._out, flush=True)

    def clear(self) -> None:
        if self._tty and self._width:
            self._out.write("\n")
            self._width = 0


def print_summary(results: Sequence[RunFinished], out: TextIO) -> None:
    from mlc.logs import redact

    print(
        f"{'flow':<14} {'run':>5}  {'status':<10} {'read':>8} {'loaded':>8} {'unchanged':>9} "
        f"{'quarantined':>11} {'failed':>7} {'time':>8}",
        file=out,
    )
    for result in results:
        tally = result.tally
        seconds = max(0.0, result.finished_at - result.started_at)
        run_id = str(result.run_id) if result.run_id is not None else "-"
        print(
            f"{result.flow:<14} {run_id:>5}  {result.status:<10} {tally.read:>8,} "
            f"{tally.loaded:>8,} {tally.unchanged:>9,} {tally.quarantined:>11,} "
            f"{tally.failed:>7,} {seconds:>7.1f}s",
            file=out,
        )
    for result in results:
        if result.error:
            print(redact(f"{result.flow}: {result.status}: {result.error}"), file=out)
        elif result.tally.quarantined or result.tally.failed:
            print(
                f"{result.flow}: records held back or rejected: see `mlc audit show "
                f"{result.run_id}`",
                file=out,
            )
    out.flush()
