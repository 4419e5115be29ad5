"""Fixtures: the Epicor emulator served on random loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sandbox.epicor.support import Epicor, served


@pytest.fixture
async def epicor() -> AsyncIterator[Epicor]:
    """The natural demo data (fiscal year 2025, seeded as of mid-2025) over real HTTP."""
    async with served() as running:
        yield running
