"""The sandbox tenant: users, tokens, workspaces, models with their actions, files and queues.

Everything a request can change lives here, so ``POST /_sandbox/reset`` rebuilds one object from
the seed.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlc.sandbox.anaplan.actions import ExportDefinition, ImportDefinition
from mlc.sandbox.anaplan.auth import Directory, TokenStore, User
from mlc.sandbox.anaplan.certs import DemoCertificates
from mlc.sandbox.anaplan.cloudworks import Integration, Run
from mlc.sandbox.anaplan.files import FileStore
from mlc.sandbox.anaplan.importer import Injected
from mlc.sandbox.anaplan.model import Model
from mlc.sandbox.anaplan.oauth import OAuthServer
from mlc.sandbox.anaplan.options import AnaplanOptions
from mlc.sandbox.anaplan.tasks import Job, ModelQueue
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.counters import RequestCounters

#: Real seconds between re-checks while a data request waits for a busy model.
BUSY_POLL_SECONDS = 0.02


@dataclass
class Workspace:
    id: str
    name: str
    size_allowance: int
    current_size: int
    active: bool = True


@dataclass
class ModelState:
    model: Model
    files: FileStore
    queue: ModelQueue
    imports: dict[str, ImportDefinition] = field(default_factory=dict)
    exports: dict[str, ExportDefinition] = field(default_factory=dict)
    #: task id → (directory, chunk paths) of that task's failure dump
    dumps: dict[str, tuple[Path, list[Path]]] = field(default_factory=dict)
    #: (user e-mail, import id) → the task whose dump is the user's current one
    latest_dump: dict[tuple[str, str], str] = field(default_factory=dict)

    def find_job(self, object_id: str, task_id: str) -> Job | None:
        job = self.queue.jobs.get(task_id)
        if job is None or job.object_id != object_id:
            return None
        return job


@dataclass
class InjectedFailure:
    failure: Injected
    action: str | None  # import id or name; None = any import
    remaining: int


@dataclass
class Tenant:
    options: AnaplanOptions
    clock: SandboxClock
    counters: RequestCounters
    root: Path
    customer_guid: str
    directory: Directory
    tokens: TokenStore
    oauth: OAuthServer
    certificates: DemoCertificates
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    models: dict[str, ModelState] = field(default_factory=dict)
    integrations: dict[str, Integration] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    injected: list[InjectedFailure] = field(default_factory=list)
    #: Set when a reset replaces this tenant, so requests held on its models are released.
    retired: bool = False

    def now(self) -> float:
        return self.clock.time()

    @property
    def user(self) -> User:
        user = self.directory.by_email(self.options.user)
        assert user is not None
        return user

    def settle_all(self) -> None:
        now = self.now()
        for state in self.models.values():
            state.queue.settle(now)

    def take_injected(self, action_id: str, action_name: str) -> Injected | None:
        for entry in self.injected:
            if entry.remaining == 0:
                continue
            if entry.action is not None and entry.action not in (action_id, action_name):
                continue
            if entry.remaining > 0:
                entry.remaining -= 1
            return entry.failure
        return None

    async def wait_idle(
        self, state: ModelState, cancelled: Callable[[], bool] = lambda: False
    ) -> None:
        """Hold a data request while the model runs a task ("all other endpoints wait").

        The lock's end is a function of the sandbox clock, which moves with real time *and* jumps
        when the control API advances it, so the wait re-reads the clock on a short real-time
        period rather than sleeping until a precomputed instant.
        """
        if state.queue.running(self.now()) is None:
            return
        self.counters.bump("requests_held_by_busy_model")
        while True:
            if self.retired or cancelled() or state.queue.running(self.now()) is None:
                return
            await asyncio.sleep(BUSY_POLL_SECONDS)

    def discard_files(self) -> None:
        shutil.rmtree(self.root / "models", ignore_errors=True)
        shutil.rmtree(self.root / "runs", ignore_errors=True)


class TenantRef:
    """The current tenant; ``POST /_sandbox/reset`` swaps in a fresh one from the seed."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
