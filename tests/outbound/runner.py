"""``python tests/outbound/runner.py CONFIG FLOW…``: run outbound flows once, as ``mlc sync`` will.

The exactly-once tests kill this process with SIGKILL mid-run. ``mlc sync`` does not dispatch
outbound flows yet (its tree builds the inbound actors only), so this minimal entry calls
:func:`mlc.cli.replay.sync_outbound`, the function ``mlc sync`` is meant to call for them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

from mlc.cli.replay import sync_outbound
from mlc.config import load_config
from mlc.logs import configure_logging


def main(argv: list[str]) -> int:
    configure_logging("warning", sys.stderr)
    config = load_config(Path(argv[0]))
    code: int = anyio.run(
        lambda: sync_outbound(config, argv[1:], trigger="sync", dry_run=False, out=sys.stdout)
    )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
