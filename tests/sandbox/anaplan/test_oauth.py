"""OAuth host: device authorization grant, rotating and non-rotating refresh tokens."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.anaplan.support import Sandbox, SandboxFactory

pytestmark = pytest.mark.anyio


async def _post(
    sb: Sandbox, path: str, body: dict[str, Any], form: bool = False
) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"data": body} if form else {"json": body}
    async with sb.http.post(f"{sb.oauth}{path}", **kwargs) as r:
        return r.status, await r.json()


async def _device_tokens(sb: Sandbox, form: bool = False) -> dict[str, Any]:
    client_id = sb.info["oauth_client_id"]
    status, device = await _post(sb, "/oauth/device/code", {"client_id": client_id}, form)
    assert status == 200
    assert device["verification_uri"] == sb.info["oauth_verification_url"]
    assert device["interval"] == 5 and device["expires_in"] == 900
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": device["device_code"],
        "client_id": client_id,
    }
    status, body = await _post(sb, "/oauth/token", poll, form)
    assert (status, body["error"]) == (403, "authorization_pending")
    status, body = await _post(sb, "/oauth/token", poll, form)
    assert (status, body["error"]) == (429, "slow_down")
    approval = {
        "user_code": device["user_code"],
        "username": sb.info["user"],
        "password": sb.info["password"],
    }
    async with sb.http.post(sb.info["oauth_verification_url"], data=approval) as r:
        assert r.status == 200
        assert "Device approved" in await r.text()
    await sb.advance(5)
    status, tokens = await _post(sb, "/oauth/token", poll, form)
    assert status == 200, tokens
    status, body = await _post(sb, "/oauth/token", poll, form)
    assert status == 403, "a device code is used once"
    assert isinstance(tokens, dict)
    return tokens


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_device_grant_issues_tokens_that_work_on_the_api(
    sandbox: Sandbox, form: bool
) -> None:
    tokens = await _device_tokens(sandbox, form)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 2100
    assert tokens["scope"] == "openid email offline_access"
    assert "anaplan_token" not in tokens
    assert tokens["id_token"].count(".") == 2
    for scheme in ("Bearer", "AnaplanAuthToken"):
        headers = {"Authorization": f"{scheme} {tokens['access_token']}"}
        async with sandbox.http.get(f"{sandbox.api}/users/me", headers=headers) as r:
            assert r.status == 200
            assert (await r.json())["user"]["email"] == sandbox.info["user"]


async def test_rotating_refresh_token_cannot_be_reused(sandbox: Sandbox) -> None:
    tokens = await _device_tokens(sandbox)
    client_id = sandbox.info["oauth_client_id"]
    first = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "refresh_token": tokens["refresh_token"],
    }
    status, rotated = await _post(sandbox, "/oauth/token", first)
    assert status == 200
    assert rotated["refresh_token"] != tokens["refresh_token"]
    status, body = await _post(sandbox, "/oauth/token", first)
    assert (status, body["error"]) == (403, "invalid_grant")
    second = {**first, "refresh_token": rotated["refresh_token"]}
    status, body = await _post(sandbox, "/oauth/token", second)
    assert status == 403, "reusing a rotated token revokes the whole family"


async def test_non_rotating_refresh_token_is_reusable(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(oauth_rotate_refresh_tokens=False) as sb:
        tokens = await _device_tokens(sb)
        body = {
            "grant_type": "refresh_token",
            "client_id": sb.info["oauth_client_id"],
            "refresh_token": tokens["refresh_token"],
        }
        for _ in range(2):
            status, refreshed = await _post(sb, "/oauth/token", body)
            assert status == 200
            assert refreshed["refresh_token"] == tokens["refresh_token"]


async def test_oauth_errors(sandbox: Sandbox) -> None:
    status, body = await _post(sandbox, "/oauth/device/code", {"client_id": "0" * 32})
    assert (status, body["error"]) == (401, "access_denied")
    status, body = await _post(sandbox, "/oauth/device/code", {})
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = await _post(
        sandbox,
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": sandbox.info["oauth_client_id"]},
    )
    assert (status, body["error"]) == (403, "unauthorized_client")
    status, device = await _post(
        sandbox, "/oauth/device/code", {"client_id": sandbox.info["oauth_client_id"]}
    )
    await sandbox.advance(901)
    status, body = await _post(
        sandbox,
        "/oauth/token",
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": sandbox.info["oauth_client_id"],
        },
    )
    assert (status, body["error"]) == (403, "expired_token")


async def test_oauth_access_token_expires(make_sandbox: SandboxFactory) -> None:
    async with make_sandbox(token_lifetime_seconds=60) as sb:
        tokens = await _device_tokens(sb)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        await sb.advance(61)
        async with sb.http.get(f"{sb.api}/users/me", headers=headers) as r:
            assert r.status == 401
