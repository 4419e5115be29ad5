"""The `mlc` command line: one module per subcommand, registered in :data:`COMMANDS`.

Each subcommand module exposes ``HELP`` (one line), ``configure(parser)`` to declare its
arguments, and ``run(args) -> int`` to do the work and return the exit code. Subcommand modules
are imported only when ``mlc`` starts, and keep heavy imports inside ``run`` so that ``--help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from mlc import __version__
from mlc.errors import MlcError

#: subcommand name -> module implementing it, in the order `mlc --help` lists them.
COMMANDS: dict[str, str] = {
    "check": "mlc.cli.check",
    "creds": "mlc.cli.creds",
    "sandbox": "mlc.cli.sandbox",
    "sync": "mlc.cli.sync",
    "demo": "mlc.cli.demo",
    "audit": "mlc.cli.audit",
    "status": "mlc.cli.status",
    "run": "mlc.cli.run",
    "trigger": "mlc.cli.trigger",
    "replay": "mlc.cli.replay",
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlc",
        description="ml-connector: keeps Epicor Kinetic, Anaplan and Workday in step.",
    )
    parser.add_argument("--version", action="version", version=f"mlc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = _load(name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args._module.run(args)
    except MlcError as exc:
        print(f"mlc {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"mlc {args.command}: interrupted", file=sys.stderr)
        return 130
    return code
