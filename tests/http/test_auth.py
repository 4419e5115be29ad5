"""401 handling: one refresh through the Authenticator, then AuthenticationFailed."""

from __future__ import annotations

import pytest

from mlc.http import AuthenticationFailed, HttpConnection
from tests.http.support import RecordingClock, Script, TokenAuth, reply, serve

pytestmark = pytest.mark.anyio


async def test_401_once_refreshes_and_retries_with_the_new_token() -> None:
    auth = TokenAuth()
    script = Script([reply(401, "token expired"), reply(200, "workspaces")])
    async with serve(script) as url:
        async with HttpConnection("anaplan.fpa", url, clock=RecordingClock()) as http:
            response = await http.request(
                "GET", "/2/0/workspaces", route="/2/0/workspaces", auth=auth
            )

    assert response.body == b"workspaces"
    assert [r["Authorization"] for r in auth.rejected] == ["Bearer token-1"]
    assert [s.headers["Authorization"] for s in script.seen] == ["Bearer token-1", "Bearer token-2"]


async def test_401_twice_raises_authentication_failed_after_one_refresh() -> None:
    auth = TokenAuth()
    script = Script([reply(401, "nope")])
    clock = RecordingClock()
    async with serve(script) as url:
        async with HttpConnection("anaplan.fpa", url, clock=clock) as http:
            with pytest.raises(AuthenticationFailed) as caught:
                await http.request("GET", "/2/0/workspaces", route="/2/0/workspaces", auth=auth)

    assert len(auth.rejected) == 1
    assert len(script.seen) == 2
    assert clock.sleeps == []
    assert caught.value.status == 401
    assert str(caught.value).startswith("anaplan.fpa: GET /2/0/workspaces → 401 Unauthorized")


async def test_401_on_a_non_idempotent_post_is_retried_with_fresh_credentials() -> None:
    auth = TokenAuth()
    script = Script([reply(401), reply(201, "created")])
    async with serve(script) as url:
        async with HttpConnection("epicor.main", url, clock=RecordingClock()) as http:
            response = await http.request("POST", "/journal", route="/journal", auth=auth)

    assert response.status == 201
    assert len(auth.rejected) == 1


async def test_401_without_an_authenticator_fails_at_once() -> None:
    script = Script([reply(401)])
    async with serve(script) as url:
        async with HttpConnection("workday.prod", url, clock=RecordingClock()) as http:
            with pytest.raises(AuthenticationFailed):
                await http.request("GET", "/ccx/service", route="/ccx/service")

    assert len(script.seen) == 1


async def test_each_call_gets_its_own_single_refresh() -> None:
    auth = TokenAuth()
    script = Script([reply(401), reply(200), reply(401), reply(200)])
    async with serve(script) as url:
        async with HttpConnection("anaplan.fpa", url, clock=RecordingClock()) as http:
            await http.request("GET", "/a", route="/a", auth=auth)
            await http.request("GET", "/b", route="/b", auth=auth)

    assert len(auth.rejected) == 2
    assert auth.token == "token-3"
