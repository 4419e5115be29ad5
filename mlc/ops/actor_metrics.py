"""Actor metrics read from the supervisor at scrape time.

The supervisor counts restarts and owns the mailboxes; rather than have it push into the metrics,
a collector runs before every ``/metrics`` render: ``mlc_actor_mailbox_depth{actor}`` is the
current depth, and ``mlc_actor_restarts_total{actor}`` advances by however many restarts happened
since the last scrape (a counter only goes up, so it is incremented by the difference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from mlc.metrics import ACTOR_MAILBOX_DEPTH, ACTOR_RESTARTS, REGISTRY, Registry
from mlc.runtime import MailboxStatistics


class SupervisedActors(Protocol):
    def restart_counts(self) -> Mapping[str, int]: ...

    def mailbox_statistics(self) -> Mapping[str, MailboxStatistics]: ...


def register_actor_metrics(
    supervisor: SupervisedActors, registry: Registry = REGISTRY
) -> Callable[[], None]:
    """Keep the actor metrics in step with ``supervisor``; returns the unregister function."""
    seen: dict[str, int] = {}

    def collect() -> None:
        for actor, restarts in supervisor.restart_counts().items():
            counter = ACTOR_RESTARTS.labels(actor=actor)
            delta = restarts - seen.get(actor, 0)
            if delta > 0:
                counter.inc(delta)
            seen[actor] = max(restarts, seen.get(actor, 0))
        for actor, stats in supervisor.mailbox_statistics().items():
            ACTOR_MAILBOX_DEPTH.labels(actor=actor).set(stats.depth)

    collect()
    return registry.register_collector(collect)
