"""`mlc sandbox`: serve the emulated Anaplan and Epicor on loopback until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from mlc.errors import UsageError

HELP = "serve the Anaplan and Epicor emulators on loopback (demo, tests, dry runs)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--urls-file",
        type=Path,
        help="write the base URLs and demo credentials here as JSON once every host listens",
    )
    parser.add_argument(
        "--random-ports",
        action="store_true",
        help="take free ports instead of the defaults config.toml expects (8601-8604, 8701-8702)",
    )
    parser.add_argument(
        "--epicor-rows",
        type=int,
        default=None,
        metavar="N",
        help="serve N Epicor GL period balance rows (generated lazily; default: the demo set)",
    )
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=None,
        metavar="SECONDS",
        help="token lifetime of both systems (default: Anaplan 35 min, Epicor 1 h)",
    )


def run(args: argparse.Namespace) -> int:
    import anyio

    return anyio.run(_serve, args)


async def _serve(args: argparse.Namespace) -> int:
    import dataclasses

    import anyio

    from mlc.sandbox import DEFAULT_PORTS, open_sandbox
    from mlc.sandbox.anaplan import AnaplanOptions
    from mlc.sandbox.epicor import EpicorOptions

    anaplan = AnaplanOptions()
    epicor = EpicorOptions(rows=args.epicor_rows)
    if args.token_lifetime is not None:
        if args.token_lifetime <= 0:
            raise UsageError("--token-lifetime must be a positive number of seconds")
        anaplan = dataclasses.replace(anaplan, token_lifetime_seconds=args.token_lifetime)
        epicor = dataclasses.replace(epicor, token_lifetime=args.token_lifetime)
    ports = None if args.random_ports else DEFAULT_PORTS
    try:
        async with open_sandbox(anaplan=anaplan, epicor=epicor, ports=ports) as sandbox:
            document = json.dumps(sandbox.urls, indent=2, default=str)
            if args.urls_file is not None:
                tmp = args.urls_file.with_suffix(args.urls_file.suffix + ".tmp")
                tmp.write_text(document + "\n", encoding="utf-8")
                os.replace(tmp, args.urls_file)
            for system, hosts in sandbox.hosts.items():
                for role, url in hosts.items():
                    print(f"sandbox {system} {role}: {url}", file=sys.stderr)
            print("sandbox ready; Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    break
    except OSError as exc:
        raise UsageError(f"cannot start the sandbox: {exc}; is another sandbox running?") from exc
    return 0
