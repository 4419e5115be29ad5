from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MINIMAL = """
[service]
state_dir = "state"

[connections.epicor.main]
base_url = "http://127.0.0.1:8701/ERP11"
company = "EPIC06"
user = "mlc-integration"

[connections.anaplan.fpa]
user = "integration@demo.example"
workspace = "FP&A"
model = "Operating Plan"

[flows.gl-actuals]
kind = "gl-actuals"
source = "epicor.main"
target = "anaplan.fpa"
"""

RunMlc = Callable[..., subprocess.CompletedProcess[str]]


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without any MLC_ variable, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLC_")}
    env.update(extra)
    return env


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(MINIMAL)
    return path


@pytest.fixture
def run_mlc(tmp_path: Path) -> RunMlc:
    """Run ``python -m mlc ARGS`` in ``tmp_path`` with a clean environment."""

    def run(
        *args: str, env: dict[str, str] | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mlc", *args],
            cwd=tmp_path,
            env=environment(**(env or {})),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def minimal_toml() -> str:
    """A small valid configuration (two connections, one flow)."""
    return MINIMAL
