"""`open_sandbox` and `mlc sandbox`: every host answers; the URLs file has DESIGN.md §7's shape."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import aiohttp
import anyio
import pytest

from mlc.sandbox import open_sandbox

pytestmark = pytest.mark.anyio

SECTION_KEYS = {
    "anaplan": {
        "auth_url",
        "api_url",
        "oauth_url",
        "cloudworks_url",
        "user",
        "password",
        "workspace",
        "model",
    },
    "epicor": {
        "base_url",
        "company",
        "user",
        "password",
        "api_key",
        "idp_url",
        "client_id",
        "client_secret",
    },
}


async def test_all_emulators_share_one_clock_and_describe_themselves() -> None:
    async with open_sandbox() as sandbox, aiohttp.ClientSession() as http:
        for system, keys in SECTION_KEYS.items():
            assert keys <= set(sandbox.urls[system]), system
        async with http.post(
            f"{sandbox.hosts['anaplan']['api']}/_sandbox/clock", json={"advance": 600}
        ) as response:
            assert response.status == 200
        async with http.get(f"{sandbox.hosts['epicor']['api']}/_sandbox/clock") as response:
            assert (await response.json())["offset"] == 600


async def test_mlc_sandbox_writes_urls_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    urls_file = tmp_path / "sandbox.json"
    command = [
        sys.executable,
        "-m",
        "mlc",
        "sandbox",
        "--random-ports",
        "--urls-file",
        str(urls_file),
    ]
    async with await anyio.open_process(command) as process:
        try:
            with anyio.fail_after(30):
                while not urls_file.exists():
                    assert process.returncode is None
                    await anyio.sleep(0.05)
            urls = json.loads(urls_file.read_text())
            for system, keys in SECTION_KEYS.items():
                assert keys <= set(urls[system]), system
            anaplan = urls["anaplan"]
            basic = aiohttp.encode_basic_auth(anaplan["user"], anaplan["password"])
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"{anaplan['auth_url']}/token/authenticate", headers={"Authorization": basic}
                ) as response,
            ):
                assert response.status == 201
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(20):
                assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
