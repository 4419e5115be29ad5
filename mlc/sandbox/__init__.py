"""The sandbox: faithful emulators of Anaplan and Epicor Kinetic on loopback.

A product feature (the demo, our tests, a customer's dry run), held to one rule: a client written
against the real API works against it unchanged. Each emulator serves each of its hosts on its
own port; all share one :class:`SandboxClock`, so moving time through any ``/_sandbox/clock``
moves the whole outside world. This package imports nothing of the connector.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.server import LOOPBACK, Emulator, serve_emulator

if TYPE_CHECKING:
    from mlc.sandbox.anaplan import AnaplanOptions
    from mlc.sandbox.epicor import EpicorOptions

#: The ports `mlc sandbox` uses unless told otherwise; config.toml points at these.
DEFAULT_PORTS: dict[str, dict[str, int]] = {
    "anaplan": {"auth": 8601, "api": 8602, "oauth": 8603, "cloudworks": 8604},
    "epicor": {"api": 8701, "idp": 8702},
}


@dataclass(eq=False)
class RunningSandbox:
    """What a started sandbox offers: the URLs file content and the emulators themselves."""

    clock: SandboxClock
    #: The JSON of DESIGN.md §7: one section per system with base URLs and demo credentials.
    urls: dict[str, dict[str, object]] = field(default_factory=dict)
    #: Host role → base URL, per system.
    hosts: dict[str, dict[str, str]] = field(default_factory=dict)
    emulators: dict[str, Emulator] = field(default_factory=dict)


@asynccontextmanager
async def open_sandbox(
    *,
    anaplan: AnaplanOptions | None = None,
    epicor: EpicorOptions | None = None,
    ports: Mapping[str, Mapping[str, int]] | None = None,
    host: str = LOOPBACK,
    clock: SandboxClock | None = None,
) -> AsyncIterator[RunningSandbox]:
    """Serve every emulator; ``anaplan``/``epicor`` are their options objects (defaults if None).

    ``ports`` maps system → host role → port; missing roles take a free port (0). Pass
    :data:`DEFAULT_PORTS` for the fixed ports the shipped ``config.toml`` expects.
    """
    from mlc.sandbox import anaplan as anaplan_emulator
    from mlc.sandbox import epicor as epicor_emulator

    clock = clock or SandboxClock()
    running = RunningSandbox(clock=clock)
    emulators: dict[str, Emulator] = {
        "anaplan": anaplan_emulator.build_emulator(
            anaplan or anaplan_emulator.AnaplanOptions(), clock
        ),
        "epicor": epicor_emulator.build_emulator(epicor or epicor_emulator.EpicorOptions(), clock),
    }
    async with AsyncExitStack() as stack:
        for system, emulator in emulators.items():
            close = getattr(emulator, "close", None)
            if callable(close):
                stack.callback(close)
            system_ports = dict((ports or {}).get(system, {}))
            hosts = await stack.enter_async_context(
                serve_emulator(emulator, host=host, ports=system_ports)
            )
            running.emulators[system] = emulator
            running.hosts[system] = hosts
            running.urls[system] = emulator.describe(hosts)
        yield running
