"""``mlc run``: the long-running service (what the container's entrypoint starts).

Signals: SIGTERM/SIGINT drain and exit 0 within ``service.shutdown_grace_seconds``; SIGUSR1 runs
the pending ``mlc trigger`` requests, or every inbound flow when none are pending; SIGUSR2 runs the
outbound flows; SIGHUP reloads the configuration and the mounted secret files. Ops endpoints on
``service.http_port``: ``/livez``, ``/readyz``, ``/metrics``, ``/status`` (``?format=html``).
The lifecycle is documented in :mod:`actors.service`.
"""

from __future__ import annotations

import argparse

from mlc.cli.creds import add_config_option

HELP = "run the service: schedules, signals, health and metrics endpoints"


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    missed = parser.add_mutually_exclusive_group()
    missed.add_argument(
        "--run-missed",
        dest="run_missed",
        action="store_const",
        const=True,
        default=None,
        help="at start, run once every flow whose fire time passed while the service was down "
        "(the default)",
    )
    missed.add_argument(
        "--skip-missed",
        dest="run_missed",
        action="store_const",
        const=False,
        help="at start, wait for each flow's next fire time instead",
    )


def run(args: argparse.Namespace) -> int:
    import os

    import anyio

    from actors.service import Service, ServiceOptions
    from mlc.config import load_config
    from mlc.logs import configure_logging
    from mlc.runtime import SystemClock

    config = load_config(args.config)
    configure_logging(config.service.log_level)
    service = Service(
        args.config,
        config,
        clock=SystemClock(),
        environ=os.environ,
        options=ServiceOptions(run_missed=args.run_missed),
    )
    code: int = anyio.run(service.run, backend="asyncio")
    return code
