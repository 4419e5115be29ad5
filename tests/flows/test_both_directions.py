"""One actor tree runs both directions: inbound into Anaplan, then the budget back into Epicor.

The shipped configuration uses ``anaplan.fpa`` as the inbound flows' target and the outbound
flows' source, ``epicor.main`` the other way round: each connection is wired once (one keeper,
one login) and the model actor is shared, so the tree's actors name each connection once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.flows.conftest import Inbound

pytestmark = pytest.mark.anyio


async def test_one_tree_runs_both_directions_on_one_keeper_and_model_per_connection(
    inbound: Inbound,
) -> None:
    async with inbound.tree() as tree:
        actors = sorted(tree.supervisor.restart_counts())
        per_connection = [
            name for name in actors if name.split(":")[0] in
            ("token-keeper", "anaplan-model", "epicor-writer")
        ]  # fmt: skip
        assert per_connection == [
            "anaplan-model:anaplan.fpa",
            "epicor-writer:epicor.main",
            "token-keeper:anaplan.fpa",
        ]
        results = await tree.run_flows(["budget-to-gl", "gl-actuals", "coa-align"])
    assert [(r.flow, r.status) for r in results] == [
        ("coa-align", "succeeded"),
        ("budget-to-gl", "succeeded"),
        ("gl-actuals", "succeeded"),
    ], [r.error for r in results]
    budget = results[1]
    assert budget.run_id is not None and budget.tally.loaded > 0 and not budget.dry_run
    assert budget.tally.changes == budget.tally.loaded
    # The import and the export went out under one token: the keeper logged in once.
    assert await inbound.count("POST", "/token/authenticate", role="auth") == 1
    stored = await inbound.store.get_run(budget.run_id)
    assert stored is not None and (stored.flow, stored.status) == ("budget-to-gl", "succeeded")
