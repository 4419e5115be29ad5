"""Fixtures: the Anaplan emulator served on random loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sandbox.anaplan.support import Sandbox, SandboxFactory, served


@pytest.fixture
def make_sandbox() -> SandboxFactory:
    """``async with make_sandbox(option=value, …) as sb`` — a served emulator with fast tasks."""
    return served


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with served() as running:
        yield running
