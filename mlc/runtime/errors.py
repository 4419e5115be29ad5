"""The runtime's errors.

Both derive from :class:`mlc.errors.MlcError`, so the CLI prints them on one line and exits 1:
an :class:`ActorStopped` that reaches the top means a message was lost at shutdown, and a
:class:`SupervisorEscalation` means the process must exit non-zero so Kubernetes restarts the pod.
"""

from __future__ import annotations

from mlc.errors import MlcError


class ActorStopped(MlcError):
    """The actor is stopped (or stopped before replying); the message was not handled.

    Raised by ``tell``/``ask`` on a stopped actor, and by every ``ask`` still pending when its
    actor stops, so no caller waits forever.
    """

    def __init__(self, actor: str, detail: str) -> None:
        super().__init__(f"actor {actor!r} {detail}")
        self.actor = actor


class SupervisorEscalation(MlcError):
    """An actor crashed more often than its restart policy allows; the whole tree is stopped.

    The last crash is the ``__cause__``.
    """

    def __init__(self, actor: str, crashes: int, window: float, reason: str) -> None:
        super().__init__(
            f"actor {actor!r} crashed {crashes} times within {window:g}s; giving up: {reason}"
        )
        self.actor = actor
        self.crashes = crashes
