"""CloudWorks: is a scheduled integration holding a model? (reference §4)

CloudWorks jobs run as ordinary imports, exports and processes on the model, so they take the
model's lock like ours. The model actor asks before starting an action and waits while one is
active, instead of queueing behind a job it cannot see the end of.

``GET {cloudworks}/2/0/integrations`` lists the tenant's integrations with their ``latestRun``;
the only per-model filter is client-side (``modelId``, uppercase like every model id;
``/integrations/anaplanModels/{modelId}`` is dead). A run is active while ``latestRun.message``
is "Running" (live observation) or "Queued" (the run will take the lock next), or while it has a
start and no end (unverified).
"""

from __future__ import annotations

from mlc.anaplan.models import Integration, IntegrationsPage
from mlc.anaplan.paging import collect, paginate
from mlc.anaplan.transport import AnaplanTransport

#: ``latestRun.message`` values of a run that holds or is about to hold the model.
ACTIVE_MESSAGES = frozenset({"Running", "Queued"})


def is_active(integration: Integration) -> bool:
    run = integration.latestRun
    if run is None:
        return False
    if run.message in ACTIVE_MESSAGES:
        return True
    return integration.running


class CloudWorksClient:
    """The CloudWorks API of one connection (same token and tenant budget as the model calls)."""

    def __init__(self, transport: AnaplanTransport, cloudworks_url: str) -> None:
        self._transport = transport
        self._base = cloudworks_url.rstrip("/") + "/2/0"

    async def integrations(self, *, mine_only: bool = False) -> list[Integration]:
        """Every integration the user can see, with its latest run."""
        return await collect(
            paginate(
                self._transport,
                f"{self._base}/integrations",
                IntegrationsPage,
                lambda page: page.integrations,
                route="/2/0/integrations",
                params={"myIntegrations": 1 if mine_only else 0},
            )
        )

    async def active_on_model(self, model_id: str) -> list[Integration]:
        """The integrations with a run active on ``model_id`` now (empty when the model is free)."""
        return [
            integration
            for integration in await self.integrations()
            if integration.modelId == model_id and is_active(integration)
        ]
