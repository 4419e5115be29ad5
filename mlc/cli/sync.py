"""``mlc sync FLOW…``: run flows once, in the foreground, through the same actors as the service.

For first set-up and for operators: the flows run in order (``coa-align`` before the value flows),
through one actor tree whatever their direction. The terminal shows each inbound run's phase, rows
read and rate as it goes, and each change an outbound run makes in Epicor (``set budget MAIN
6100|21|00 2026-03: 1,000.00 -> 1,250.00``), then a summary per run. ``--dry-run`` (outbound
flows only) writes nothing and prints the changes the run would make. Exit code 0 when every run
succeeded or was ``partial`` (some records quarantined or rejected, listed by ``mlc audit show
RUN``), 1 when one failed, 2 for a usage or configuration error. Logs (JSON lines) go to stderr
at ``--log-level`` (default ``warning``), so stdout stays readable.

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
    from mlc.messages import RunFinished, RunProgress, RunTally
    from mlc.store import Store
    from mlc.vault import Vault

HELP = "run flows once in the foreground (coa-align, gl-actuals, ap-spend, budget-to-gl…)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flows", nargs="+", metavar="FLOW", help="flow names from the config")
    add_config_option(parser)
    parser.add_argument(
        "--full", action="store_true", help="ignore the watermark: read and send everything"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="outbound flows only: write nothing to Epicor, print what would change",
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
    flows = list(args.flows)
    if args.dry_run:
        refuse_inbound_dry_run(config, flows)
    refuse_beside_service(config)
    code: int = anyio.run(
        _sync, config, flows, bool(args.full), bool(args.dry_run), backend="asyncio"
    )
    return code


async def _sync(config: Config, flows: list[str], full: bool, dry_run: bool) -> int:
    from actors.tree import TreeSettings, build_tree
    from mlc.runtime import SystemClock
    from mlc.store import Store

    clock = SystemClock()
    settings = TreeSettings(outbound_dry_run=dry_run)
    async with await Store.open(config.service.db_path, clock=clock) as store:
        vault = open_vault(config, store)
        async with build_tree(config, store, clock, vault=vault, settings=settings) as tree:
            progress = ProgressPrinter(sys.stdout)
            tree.on_progress(progress.update)
            tree.on_change(lambda flow, line: print(line, file=sys.stdout, flush=True))
            results = await tree.run_flows(flows, trigger="sync", full=full)
            progress.clear()
            outbound = set(tree.outbound)
    inbound = [result for result in results if result.flow not in outbound]
    if inbound:
        print_summary(inbound, sys.stdout)
    for result in results:
        if result.flow in outbound:
            print_outbound_result(result, sys.stdout)
    return 1 if any(result.status == "failed" for result in results) else 0


def refuse_inbound_dry_run(config: Config, flows: Sequence[str]) -> None:
    """``--dry-run`` is an outbound feature: an inbound flow named with it would load for real."""
    from mlc.flows.outbound.options import is_outbound

    inbound = [
        name for name in flows if name in config.flows and not is_outbound(config.flows[name])
    ]
    if inbound:
        raise UsageError(
            f"--dry-run applies to outbound flows only; {', '.join(inbound)} "
            f"{'is' if len(inbound) == 1 else 'are'} inbound (run without --dry-run, or name "
            "only outbound flows)"
        )


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


def print_outbound_result(result: RunFinished, out: TextIO) -> None:
    """One summary line for an outbound run (and its error, or where to look at held records)."""
    print_outbound_summary(
        result.flow, result.run_id, result.status, result.tally, result.dry_run, result.error, out
    )


def print_outbound_summary(
    flow: str,
    run_id: int | None,
    status: str,
    tally: RunTally,
    dry_run: bool,
    error: str | None,
    out: TextIO,
) -> None:
    """See :func:`print_outbound_result`; also for replays, which are not queued runs."""
    from mlc.logs import redact

    mode = "dry run, nothing written: " if dry_run else ""
    verb = "would change" if dry_run else "changed"
    run = f"run {run_id}" if run_id is not None else "run -"
    print(
        f"{flow}: {run} {status}: {mode}{tally.read:,} read, {tally.loaded:,} written, "
        f"{tally.unchanged:,} unchanged, {tally.skipped:,} skipped, "
        f"{tally.quarantined:,} quarantined, {tally.failed:,} failed; {verb} "
        f"{tally.changes:,} cell(s)/journal(s) in Epicor",
        file=out,
    )
    if error:
        print(redact(f"{flow}: {error}"), file=out)
    elif (tally.quarantined or tally.failed) and run_id is not None:
        print(
            f"{flow}: see `mlc audit show {run_id}`; after fixing, `mlc replay {run_id}`",
            file=out,
        )
    out.flush()
