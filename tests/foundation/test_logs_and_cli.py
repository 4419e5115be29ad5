"""JSON-lines logging with redaction of vault values, and the CLI's top-level contract."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mlc.logs import MASK, configure_logging, redact, register_secret


@pytest.fixture
def restore_mlc_logger() -> Iterator[None]:
    root = logging.getLogger("mlc")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved


@pytest.mark.usefixtures("restore_mlc_logger")
def test_a_registered_secret_is_masked_in_message_fields_and_traceback() -> None:
    secret = "s3cr3t-from-the-vault-4821"
    register_secret(secret)
    stream = io.StringIO()
    configure_logging("debug", stream)
    log = logging.getLogger("mlc.test")
    try:
        raise ValueError(f"login failed for password {secret}")
    except ValueError:
        log.exception("login_failed", extra={"connection": "epicor.main", "detail": secret})
    line = stream.getvalue().strip()
    assert secret not in line
    entry = json.loads(line)
    assert entry["event"] == "login_failed"
    assert entry["level"] == "error"
    assert entry["connection"] == "epicor.main"
    assert entry["detail"] == MASK
    assert MASK in entry["exc"]
    assert redact(f"x {secret} y") == f"x {MASK} y"


def test_help_lists_the_subcommands_and_an_unknown_one_exits_2() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "mlc", "--help"], capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0
    for command in ("run", "sync", "demo", "sandbox", "check", "trigger", "creds", "audit"):
        assert f"    {command} " in shown.stdout, command
    unknown = subprocess.run(
        [sys.executable, "-m", "mlc", "frobnicate"], capture_output=True, text=True, check=False
    )
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("usage: mlc")
    assert "invalid choice: 'frobnicate'" in unknown.stderr
