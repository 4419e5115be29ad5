"""Liveness and readiness of the service, as the Kubernetes probes see them.

Liveness (``/livez``) answers "should the kubelet restart this container?": yes only when the
process is stuck. It holds while the event loop runs tasks (a :class:`Heartbeat` ticker keeps a
timestamp fresh) and the supervisor is alive. It never looks at Epicor, Anaplan or Workday: an
outage there would otherwise restart the pod in a loop and fix nothing (ops reference §1).

Readiness (``/readyz``) answers "is this instance up and taking work?": the configuration is
loaded, the store is open, every actor started, and the service is not draining (503 from the
first SIGTERM on). The per-connection detail it carries (token health) is information for a
human, not a condition: a connection that is down is a metric and an alert, not a probe failure.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import anyio
import msgspec
from anyio.abc import TaskStatus

from mlc.messages import TokenHealth
from mlc.runtime.clock import Clock

log = logging.getLogger("mlc.ops")

ConnectionHealth = Callable[[], Awaitable[Sequence[TokenHealth]]]


class Heartbeat:
    """A timestamp that a ticker task refreshes every ``interval`` seconds of ``clock`` time.

    If the event loop is blocked (a synchronous call that never returns, a runaway CPU loop in a
    task), the ticker stops and the heartbeat ages past ``max_age``.
    """

    def __init__(self, clock: Clock, *, interval: float = 1.0, max_age: float = 15.0) -> None:
        if not 0 < interval < max_age:
            raise ValueError(f"need 0 < interval < max_age, got {interval!r} and {max_age!r}")
        self._clock = clock
        self.interval = interval
        self.max_age = max_age
        self._last = clock.monotonic()

    def beat(self) -> None:
        self._last = self._clock.monotonic()

    def age(self) -> float:
        """Seconds since the last beat."""
        return max(0.0, self._clock.monotonic() - self._last)

    @property
    def fresh(self) -> bool:
        return self.age() <= self.max_age

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Beat until cancelled."""
        self.beat()
        task_status.started()
        while True:
            await self._clock.sleep(self.interval)
            self.beat()


class SupervisorView(Protocol):
    """What the probes read of :class:`mlc.runtime.Supervisor`."""

    @property
    def ready(self) -> bool: ...

    @property
    def draining(self) -> bool: ...


class Liveness(msgspec.Struct, frozen=True):
    alive: bool
    heartbeat_age_seconds: float
    supervisor: str


class Readiness(msgspec.Struct, frozen=True):
    ready: bool
    #: condition → met
    checks: dict[str, bool]
    #: connection → its token health (informational; does not decide readiness)
    connections: dict[str, TokenHealth]


class ServiceHealth:
    """The service's state as the probes report it; the service flips the flags as it goes.

    ``supervisor_running`` is set by the service while the supervisor's ``run`` is active: a
    supervisor that escalated or returned is not alive, whatever its last flags said.
    """

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.heartbeat = heartbeat
        self.config_loaded = False
        self.store_open = False
        self.draining = False
        self.supervisor: SupervisorView | None = None
        self.supervisor_running = False
        self.connection_health: ConnectionHealth | None = None

    def liveness(self) -> Liveness:
        if self.supervisor is None:
            state = "none"  # starting, rebuilding after a reload, or stopped after a drain
            supervisor_ok = True
        elif self.supervisor_running:
            state = "draining" if self.supervisor.draining else "running"
            supervisor_ok = True
        else:
            state = "stopped"
            supervisor_ok = self.draining
        return Liveness(
            alive=self.heartbeat.fresh and supervisor_ok,
            heartbeat_age_seconds=round(self.heartbeat.age(), 3),
            supervisor=state,
        )

    async def readiness(self) -> Readiness:
        actors_started = (
            self.supervisor is not None and self.supervisor_running and self.supervisor.ready
        )
        checks = {
            "config_loaded": self.config_loaded,
            "store_open": self.store_open,
            "actors_started": actors_started,
            "not_draining": not self.draining,
        }
        connections: dict[str, TokenHealth] = {}
        if self.connection_health is not None and actors_started:
            try:
                with anyio.fail_after(2):
                    found = await self.connection_health()
            except Exception as exc:
                log.warning("connection_health_failed", extra={"error": type(exc).__name__})
            else:
                connections = {health.connection: health for health in found}
        return Readiness(ready=all(checks.values()), checks=checks, connections=connections)
