"""Discovery by name, list members, paging, model status and CloudWorks, over real HTTP."""

from __future__ import annotations

from functools import partial

import anyio
import pytest

from mlc.anaplan.cloudworks import CloudWorksClient
from mlc.anaplan.errors import AnaplanNotFound, AnaplanRequestError
from mlc.anaplan.ids import ActionKind, ActionRef
from mlc.anaplan.models import Import, ImportsPage, Meta, Paging
from mlc.anaplan.names import find_by_name
from mlc.anaplan.paging import collect, next_offset, paginate
from tests.clients.anaplan.support import DrivenClock, anaplan_stack, drive, serve_sandbox

pytestmark = pytest.mark.anyio

IMPORTS_ROUTE = "/2/0/workspaces/{workspace_id}/models/{model_id}/imports"


async def test_names_resolve_to_ids_kept_exactly_as_anaplan_spells_them() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            load = await stack.model.find_import("Load GL Actuals")
            metadata = await stack.model.import_metadata(load.id)
            export = await stack.model.find_export("Export Approved Budget")
            files = {f.id for f in await stack.model.files()}

    assert stack.ref.workspace_id == sandbox.info["workspace_id"]
    assert stack.ref.workspace_id == stack.ref.workspace_id.lower()
    assert stack.ref.model_id == sandbox.info["model_id"] == sandbox.info["model_id"].upper()
    assert load.id.startswith("112") and load.importDataSourceId in files
    assert metadata.source is not None
    assert metadata.source.headerNames[:4] == ["Account", "Cost Center", "Period", "Version"]
    assert ActionRef.from_id(export.id).kind is ActionKind.EXPORT


async def test_unknown_names_are_clear_errors_with_suggestions() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            with pytest.raises(AnaplanNotFound) as near:
                await stack.model.find_import("Load GL Actual")
            with pytest.raises(AnaplanNotFound) as workspace:
                await stack.client.resolve("FP&A Sandbox", "Operating Plan")
            with pytest.raises(AnaplanNotFound) as model:
                await stack.client.resolve("FP&A", "Nothing Like It")

    assert str(near.value) == (
        "anaplan.test model 'Operating Plan': no import named 'Load GL Actual'; "
        "did you mean 'Load GL Actuals'?"
    )
    assert str(workspace.value).startswith("anaplan.test: no workspace named 'FP&A Sandbox'")
    assert "'FP&A'" in str(workspace.value)
    assert str(model.value) == (
        "anaplan.test workspace 'FP&A': no model named 'Nothing Like It'; "
        "there are 'Operating Plan'"
    )


async def test_list_members_come_with_codes_parents_and_properties() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            accounts = await stack.model.list_items((await stack.model.find_list("Accounts")).id)
            categories = await stack.model.list_items(
                (await stack.model.find_list("Account Categories")).id
            )

    assert accounts and all(member.code for member in accounts)
    assert {member.parent for member in accounts} <= {c.name for c in categories}
    assert all("Normal Balance" in member.properties for member in accounts)


async def test_paging_walks_every_page() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            before = await sandbox.count(route=IMPORTS_ROUTE)
            names = [
                item.name
                for item in await collect(
                    paginate(
                        stack.model.transport,
                        f"{stack.ref.path}/imports",
                        ImportsPage,
                        lambda page: page.imports,
                        route="/imports",
                        page_size=1,
                    )
                )
            ]
            pages = await sandbox.count(route=IMPORTS_ROUTE) - before
            everything = [item.name for item in await stack.model.imports()]

    assert names == everything and len(names) == 4
    assert pages == 4


def test_paging_stops_on_an_offset_that_does_not_move() -> None:
    assert next_offset(Meta(Paging(1, 0, 3, "https://x/2/0/a?limit=1&offset=1")), 0, 1) == 1
    assert next_offset(Meta(Paging(1, 2, 3)), 2, 1) is None
    assert next_offset(Meta(Paging(2, 0, 5)), 0, 2) == 2, "a truncated page without next"
    assert next_offset(Meta(None), 0, 0) is None
    assert next_offset(Meta(Paging(1, 4, 9, "https://x/a?offset=4")), 4, 1) == 4


async def test_busy_model_is_seen_from_status_and_cloudworks() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            cloudworks = CloudWorksClient(stack.model.transport, sandbox.info["cloudworks_url"])
            model_id = stack.ref.model_id
            idle = (await stack.model.is_busy(), await cloudworks.active_on_model(model_id))

            await sandbox.control(
                "POST",
                "/_sandbox/anaplan/other-user-task",
                {"action": "Load AP Spend", "seconds": 60},
            )
            other_user = await stack.model.is_busy()
            status = await stack.model.status()
            await sandbox.advance(61)
            after_other = await stack.model.is_busy()

            await sandbox.fault(kind="cloudworks_lock", seconds=45)
            locked = (await stack.model.is_busy(), await cloudworks.active_on_model(model_id))
            elsewhere = await cloudworks.active_on_model("0" * 32)
            await sandbox.advance(46)
            released = (await stack.model.is_busy(), await cloudworks.active_on_model(model_id))
            every = await cloudworks.integrations()

    assert idle == (False, [])
    assert other_user and "planner@demo.example" in (status.tooltip or "")
    assert not after_other
    assert locked[0] and len(locked[1]) == 1 and locked[1][0].modelId == model_id
    assert elsewhere == []
    assert released == (False, [])
    assert len(every) == 2


async def test_a_wait_for_a_busy_model_ends_when_the_other_task_does() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack, anyio.create_task_group() as tg:
            other = await sandbox.control(
                "POST",
                "/_sandbox/anaplan/other-user-task",
                {"action": "Load AP Spend", "seconds": 30},
            )
            action = ActionRef(ActionKind.IMPORT, other["actionId"])
            tg.start_soon(partial(drive, clock, sandbox))
            theirs = await stack.model.wait(action, other["taskId"], clock)
            busy_after = await stack.model.is_busy()
            tg.cancel_scope.cancel()

    assert theirs.taskState == "COMPLETE"
    assert not busy_after


def test_action_ids_name_their_kind() -> None:
    assert (
        ActionRef.from_id("118000000003", "Nightly").describe()
        == "process 'Nightly' (118000000003)"
    )
    with pytest.raises(ValueError, match="is not an import"):
        ActionRef.from_id("113000000001")


def test_duplicate_names_are_an_error_not_a_guess() -> None:
    twins = [Import("112000000001", "Load"), Import("112000000002", "Load")]
    with pytest.raises(AnaplanRequestError, match="m: 2 imports are named 'Load'"):
        find_by_name(twins, "Load", lambda i: i.name, lambda i: i.id, "import", "m")


async def test_an_unknown_id_is_a_not_found_error_naming_the_call() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            action = ActionRef(ActionKind.IMPORT, "112000000001")
            with pytest.raises(AnaplanNotFound) as caught:
                await stack.model.task(action, "0" * 32)

    message = str(caught.value)
    assert message.startswith(f"anaplan.test: GET {stack.ref.path}/imports/112000000001/tasks/")
    assert message.endswith("→ 404 Not Found")
