"""``mlc trigger FLOW…``: ask the running service to run flows now.

The request is durable before anything else happens: one row per flow in the store's
``triggers`` table. Then the service is woken with SIGUSR1 through its pid file, and runs exactly
the flows with pending rows. Made for ``kubectl exec deploy/mlc -- mlc trigger gl-actuals``: the
exec'd process sees the same state volume and the same pid namespace as the service. When no
service is running the rows stay pending and run at its next start.
"""

from __future__ import annotations

import argparse
import signal
import sys

from mlc.cli.creds import add_config_option
from mlc.errors import UsageError

HELP = "record run requests for flows and wake the running service (SIGUSR1)"

#: ``triggers.source`` of the rows this command writes.
SOURCE = "mlc trigger"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flows", nargs="+", metavar="FLOW", help="flow name, as in [flows.NAME]")
    add_config_option(parser)
    parser.add_argument(
        "--no-signal",
        action="store_true",
        help="only record the requests; the service takes them at its next SIGUSR1 or start",
    )


def run(args: argparse.Namespace) -> int:
    import anyio

    from mlc.config import load_config
    from mlc.ops.pidfile import signal_service

    config = load_config(args.config)
    flows: list[str] = list(dict.fromkeys(args.flows))
    known = ", ".join(sorted(config.flows)) or "none"
    for flow in flows:
        if flow not in config.flows:
            raise UsageError(f"flows.{flow}: no such flow in {args.config} (configured: {known})")
        if not config.flows[flow].enabled:
            raise UsageError(f"flows.{flow}: the flow is disabled (enabled = false)")

    async def record() -> list[int]:
        from mlc.store import Store

        async with await Store.open(config.service.db_path) as store:
            return [await store.add_trigger(flow, SOURCE) for flow in flows]

    ids = anyio.run(record, backend="asyncio")
    for flow, trigger_id in zip(flows, ids, strict=True):
        print(f"trigger {trigger_id}: {flow}")
    if args.no_signal:
        return 0
    pid = signal_service(config.service.pid_path, signal.SIGUSR1)
    if pid is None:
        print(
            f"no running service holds {config.service.pid_path}; "
            "the triggers run when `mlc run` starts",
            file=sys.stderr,
        )
    else:
        print(f"signalled mlc run (pid {pid})")
    return 0
