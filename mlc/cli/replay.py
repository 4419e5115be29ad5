"""``mlc replay RUN [--record KEY]``: send a run's failed and quarantined records again.

After the cause is fixed (a mapping added, a period reopened), ``mlc replay 42`` re-sends every
record of run 42 whose status is ``quarantined`` or ``failed``; ``--record KEY`` re-sends one
record (``mlc audit show 42`` lists the keys). The replay is its own run, audited and linked to
run 42 (``parent_run_id``); ``--dry-run`` prints what it would change and writes nothing. Only the
outbound flows (kind ``budget-to-gl``) replay records this way; inbound flows retry their
quarantined cells on their next run by themselves. The replay runs on the same actor tree as
``mlc sync`` and the service (:meth:`actors.tree.Tree.replay`), and like ``mlc sync`` it refuses
to run beside ``mlc run`` on the same state directory. Exit codes: 0 succeeded or partial,
1 failed, 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mlc.cli.creds import add_config_option

if TYPE_CHECKING:
    from mlc.config import Config

HELP = "re-send a run's failed and quarantined records (outbound flows)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", type=int, metavar="RUN", help="the run to replay")
    parser.add_argument(
        "--record", metavar="KEY", help="replay only this record (any status), by its key"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would change; write nothing"
    )
    add_config_option(parser)
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="level of the JSON log lines written to stderr (default: warning)",
    )


def run(args: argparse.Namespace) -> int:
    import anyio

    from mlc.cli.sync import refuse_beside_service
    from mlc.config import load_config
    from mlc.logs import configure_logging

    configure_logging(args.log_level, sys.stderr)
    config = load_config(args.config)
    refuse_beside_service(config)
    code: int = anyio.run(
        _replay, config, args.run_id, args.record, bool(args.dry_run), backend="asyncio"
    )
    return code


async def _replay(config: Config, run_id: int, record: str | None, dry_run: bool) -> int:
    from actors.tree import TreeSettings, build_tree
    from mlc.cli.sync import open_vault, print_outbound_summary
    from mlc.errors import UsageError
    from mlc.flows.outbound.options import is_outbound
    from mlc.runtime import SystemClock
    from mlc.store import Store

    clock = SystemClock()
    async with await Store.open(config.service.db_path, clock=clock) as store:
        run = await store.get_run(run_id)
        if run is None:
            raise UsageError(f"no run {run_id} in {config.service.db_path}")
        flow = config.flows.get(run.flow)
        if flow is not None and not is_outbound(flow):
            raise UsageError(
                f"run {run_id} is a run of {run.flow!r}, an inbound flow: its quarantined "
                "cells are retried by its next run (`mlc sync " + run.flow + "`)"
            )
        settings = TreeSettings(outbound_dry_run=dry_run)
        vault = open_vault(config, store)
        async with build_tree(config, store, clock, vault=vault, settings=settings) as tree:
            tree.on_change(lambda _flow, line: print(line, file=sys.stdout, flush=True))
            result = await tree.replay(run.flow, run_id, record_key=record)
    tally = result.tally.frozen()
    print_outbound_summary(
        run.flow, result.run_id, result.status, tally, result.dry_run, result.error, sys.stdout
    )
    return 1 if result.status == "failed" else 0
