"""Shared helpers of the service tests: configs, a store, and HTTP polling with a deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import anyio
import pytest

from mlc.config import Config, load_config
from mlc.runtime import ManualClock
from mlc.store import Store

#: Connections every test config carries (the emulator ports are filled in by the e2e tests).
CONNECTIONS = """
[connections.epicor.main]
base_url = "http://127.0.0.1:8701/ERP11"
company = "EPIC06"
user = "mlc-integration"

[connections.anaplan.fpa]
user = "integration@demo.example"
workspace = "FP&A"
model = "Operating Plan"
"""


def write_config(directory: Path, body: str, *, service: str = "") -> Path:
    path = directory / "config.toml"
    header = f'[service]\nstate_dir = "state"\nhttp_port = 0\n{service}\n'
    path.write_text(f"{header}{CONNECTIONS}\n{body}")
    return path


def config_from(directory: Path, body: str) -> Config:
    return load_config(write_config(directory, body), environ={})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    clock = ManualClock()
    async with await Store.open(tmp_path / "state" / "mlc.db", clock=clock) as opened:
        yield opened


async def get(url: str) -> tuple[int, str, str]:
    """``(status, content type, body)`` of ``GET url``."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def wait_for(predicate: object, *, within: float = 10.0) -> None:
    """Yield to the event loop until ``predicate()`` is true, for at most ``within`` seconds."""
    assert callable(predicate)
    with anyio.fail_after(within):
        while not predicate():
            await anyio.lowlevel.checkpoint()
