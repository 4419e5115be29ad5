"""``mlc audit``: read the audit trail — ``runs`` lists runs, ``show RUN`` lists a run's records.

``mlc audit runs [--flow F] [--limit N]``: newest first, with trigger, times, status and counts.
``mlc audit show RUN [--status S] [--limit N]``: the run, then one line per record — key, stage,
status and, for quarantined or rejected records, the reason (e.g. the missing cost center).
Read-only; safe beside the running service (the store is in WAL mode).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING, TextIO

from mlc.cli.creds import add_config_option
from mlc.errors import UsageError

if TYPE_CHECKING:
    from mlc.config import Config
    from mlc.store import Run

HELP = "list runs and show a run's records (the audit trail)"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    runs = sub.add_parser("runs", help="list runs, newest first")
    runs.add_argument("--flow", help="only this flow")
    runs.add_argument("--limit", type=int, default=20, help="at most this many runs (20)")
    show = sub.add_parser("show", help="show one run and its records")
    show.add_argument("run_id", type=int, metavar="RUN", help="run id (from `mlc audit runs`)")
    show.add_argument("--status", help="only records with this status (quarantined, failed, …)")
    show.add_argument("--limit", type=int, default=0, help="at most this many records (all)")
    for command in (runs, show):
        add_config_option(command)


def run(args: argparse.Namespace) -> int:
    import anyio

    from mlc.config import load_config

    config = load_config(args.config)
    code: int = anyio.run(_run, config, args, backend="asyncio")
    return code


async def _run(config: Config, args: argparse.Namespace) -> int:
    from mlc.store import Store

    if not config.service.db_path.exists():
        raise UsageError(f"no state database at {config.service.db_path}: nothing has run yet")
    async with await Store.open(config.service.db_path) as store:
        if args.action == "runs":
            runs = await store.list_runs(flow=args.flow, limit=max(1, args.limit))
            print_runs(runs, sys.stdout)
            return 0
        found = await store.get_run(args.run_id)
        if found is None:
            raise UsageError(f"no run {args.run_id} (see `mlc audit runs`)")
        print_runs([found], sys.stdout)
        print(file=sys.stdout)
        shown = 0
        limit = args.limit if args.limit > 0 else None
        print(f"{'record':<44} {'stage':<8} {'status':<12} detail")
        async for batch in store.iter_records(found.id, status=args.status):
            for record in batch:
                if limit is not None and shown >= limit:
                    return 0
                detail = record.error or ""
                print(f"{record.record_key:<44} {record.stage:<8} {record.status:<12} {detail}")
                shown += 1
        if shown == 0:
            print("(no records)" if args.status is None else f"(no {args.status} records)")
    return 0


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def print_runs(runs: list[Run], out: TextIO) -> None:
    print(
        f"{'run':>5}  {'flow':<14} {'trigger':<9} {'started':<20} {'status':<11} "
        f"{'read':>7} {'mapped':>7} {'loaded':>7} {'quarant.':>8} {'failed':>7}  error",
        file=out,
    )
    for item in runs:
        counts = item.counts
        print(
            f"{item.id:>5}  {item.flow:<14} {item.trigger:<9} {when(item.started_at):<20} "
            f"{item.status:<11} {counts.read:>7,} {counts.mapped:>7,} {counts.loaded:>7,} "
            f"{counts.quarantined:>8,} {counts.failed:>7,}  {item.error or ''}",
            file=out,
        )
