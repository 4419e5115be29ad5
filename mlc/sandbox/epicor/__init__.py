"""Emulator of Epicor Kinetic REST v2 for the sandbox: a client written against the real API works
against it unchanged (URLs, headers, auth, JSON shapes, status codes, paging, limits, failure
modes), with seeded finance data for an industrial manufacturer.

Facts and their sources are in ``/work/shared/reference/epicor.md`` (tags such as [SNO], [KB]);
every decision the reference leaves open is recorded in the docstring of the module that makes it.
Imports nothing of the connector, only :mod:`mlc.sandbox.common`.
"""

from __future__ import annotations

from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.epicor.config import DEFAULT_BAQ, EpicorOptions
from mlc.sandbox.epicor.emulator import API, IDP, EpicorEmulator


def build_emulator(options: EpicorOptions, clock: SandboxClock) -> EpicorEmulator:
    """The Epicor emulator with hosts ``api`` (default port 8701) and ``idp`` (8702)."""
    return EpicorEmulator(options, clock)


__all__ = ["API", "DEFAULT_BAQ", "IDP", "EpicorEmulator", "EpicorOptions", "build_emulator"]
