"""Tokens over a long run: refreshed ahead of expiry, replaced once after a server-side logout."""

from __future__ import annotations

from functools import partial

import anyio
import pytest

from actors.token_keeper import KeeperSettings
from mlc.anaplan.client import import_action
from mlc.messages import GetToken, Token
from tests.clients.anaplan.support import DrivenClock, anaplan_stack, drive, serve_sandbox

pytestmark = pytest.mark.anyio


async def test_a_token_expiring_during_a_long_import_is_refreshed_before_it_expires() -> None:
    async with serve_sandbox(token_lifetime_seconds=120, task_base_seconds=600) as sandbox:
        clock = DrivenClock(sandbox.now())
        settings = KeeperSettings(refresh_margin=30)
        async with anaplan_stack(sandbox, clock, settings=settings, timer=True) as stack:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(drive, clock, sandbox, sleepers=2))  # timer + poll loop
                action = import_action(await stack.model.find_import("Load GL Actuals"))
                started = sandbox.now()
                task = await stack.model.run(action)
                done = await stack.model.wait(action, task.taskId, clock)
                tg.cancel_scope.cancel()

        assert done.taskState == "COMPLETE"
        assert sandbox.now() - started >= 600, "the import outlived several tokens"
        assert await sandbox.count(status=401) == 0
        assert await sandbox.count(route="/token/authenticate") == 1
        assert await sandbox.count(route="/token/refresh", status=200) >= 6


async def test_a_token_revoked_server_side_is_replaced_once_and_the_calls_succeed() -> None:
    async with serve_sandbox() as sandbox:
        clock = DrivenClock(sandbox.now())
        async with anaplan_stack(sandbox, clock) as stack:
            token: Token = await stack.keeper.ask(GetToken())
            async with sandbox.session.post(
                sandbox.info["auth_url"] + "/token/logout",
                headers={"Authorization": token.authorization},
            ) as response:
                assert response.status == 204

            results: list[int] = []

            async def read_imports() -> None:
                results.append(len(await stack.model.imports()))

            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(read_imports)
            renewed: Token = await stack.keeper.ask(GetToken())

        assert results == [4] * 20
        assert renewed.value != token.value
        assert await sandbox.count(route="/token/authenticate", status=201) == 2, "one new login"
        assert await sandbox.count(route="/token/refresh") == 0
        assert 1 <= await sandbox.count(host="api", status=401) <= 20
