"""Every Anaplan authentication mode against the emulator over real HTTP."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from actors.token_keeper import KeeperAuthenticator, KeeperSettings, TokenUnavailable
from mlc.anaplan.auth import CertificateTokenSource
from mlc.anaplan.certificate import CertificateSigner
from mlc.anaplan.client import AnaplanClient
from mlc.anaplan.errors import AnaplanAuthError
from mlc.anaplan.models import DeviceCode
from mlc.anaplan.oauth import OAuthTokenSource
from mlc.anaplan.transport import AnaplanTransport
from mlc.errors import MlcError, UsageError
from mlc.messages import GetToken, Token
from tests.clients.anaplan.support import (
    DrivenClock,
    Sandbox,
    basic_source,
    drive,
    http_connection,
    keeper_running,
    serve_sandbox,
    step,
    wait_until,
)

pytestmark = pytest.mark.anyio


async def workspaces_with(sandbox: Sandbox, clock: DrivenClock, token: Token) -> list[str]:
    """Use ``token`` on the Integration API, as the client would after the keeper handed it out."""

    class Fixed:
        async def headers(self) -> dict[str, str]:
            return {"Authorization": token.authorization}

        async def on_rejected(self, sent_headers: Any) -> None:
            """Nothing to renew: the HTTP layer then reports the second 401."""

    async with http_connection(sandbox, clock) as http:
        client = AnaplanClient(AnaplanTransport("anaplan.test", http, Fixed()))
        return [w.name for w in await client.workspaces()]


async def test_basic_login_refresh_and_logout() -> None:
    async with (
        serve_sandbox() as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now())) as http,
    ):
        source = basic_source(sandbox, http, clock)
        token = await source.acquire()
        assert token.scheme == "AnaplanAuthToken"
        assert token.expires_at == pytest.approx(sandbox.now() + 2100, abs=5)
        assert await workspaces_with(sandbox, clock, token) == [sandbox.info["workspace"]]

        await sandbox.advance(600)
        refreshed = await source.refresh(token)
        assert refreshed.value == token.value, "Anaplan keeps the value on refresh"
        assert refreshed.expires_at == pytest.approx(token.expires_at + 600, abs=5)

        await source.revoke(refreshed)
        with pytest.raises(MlcError, match="401"):
            await workspaces_with(sandbox, clock, refreshed)
        assert await sandbox.count(route="/token/refresh", status=200) == 1
        assert await sandbox.count(route="/token/logout", status=204) == 1


async def test_refreshing_a_dead_token_logs_in_again() -> None:
    async with (
        serve_sandbox(token_lifetime_seconds=60) as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now())) as http,
    ):
        source = basic_source(sandbox, http, clock)
        old = await source.acquire()
        await sandbox.advance(61)
        new = await source.refresh(old)

        assert new.value != old.value
        assert await workspaces_with(sandbox, clock, new)
        assert await sandbox.count(route="/token/refresh", status=401) == 1
        assert await sandbox.count(route="/token/authenticate", status=201) == 2


async def test_a_wrong_password_is_one_clear_error_without_the_password() -> None:
    async with (
        serve_sandbox() as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now())) as http,
    ):
        source = basic_source(sandbox, http, clock, password="Wrong-Password-123")
        with pytest.raises(AnaplanAuthError) as caught:
            await source.acquire()

        message = str(caught.value)
        assert message.startswith(
            "anaplan.test: POST /token/authenticate → 401 FAILURE_BAD_CREDENTIAL"
        ), message
        assert "Wrong-Password-123" not in message
        assert await sandbox.count(route="/token/authenticate") == 1, "no retry of a refusal"

        settings = KeeperSettings(failure_threshold=1)
        async with keeper_running(source, clock, settings) as keeper:
            with pytest.raises(TokenUnavailable) as through_keeper:
                await keeper.ask(GetToken())
        assert "FAILURE_BAD_CREDENTIAL" in str(through_keeper.value)
        assert "Wrong-Password-123" not in str(through_keeper.value)


@pytest.mark.parametrize("data_format", ["v2", "v1"])
async def test_certificate_login(data_format: Any) -> None:
    async with (
        serve_sandbox() as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now())) as http,
    ):
        signer = CertificateSigner(
            "anaplan.test",
            sandbox.info["certificate_pem"].encode(),
            sandbox.info["private_key_pem"].encode(),
            data_format=data_format,
        )
        source = CertificateTokenSource(
            "anaplan.test", http, sandbox.info["auth_url"], signer, clock
        )
        first = await source.acquire()
        second = await source.acquire()

        assert first.value != second.value, "every login signs a fresh payload"
        assert await workspaces_with(sandbox, clock, second) == [sandbox.info["workspace"]]
        assert await sandbox.count(route="/token/authenticate", status=201) == 2


async def test_a_v2_payload_signed_with_a_wrong_clock_is_refused_clearly() -> None:
    async with (
        serve_sandbox() as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now() - 3600)) as http,
    ):
        signer = CertificateSigner(
            "anaplan.test",
            sandbox.info["certificate_pem"].encode(),
            sandbox.info["private_key_pem"].encode(),
        )
        source = CertificateTokenSource(
            "anaplan.test", http, sandbox.info["auth_url"], signer, clock
        )
        with pytest.raises(AnaplanAuthError, match="401 FAILURE_BAD_CREDENTIAL"):
            await source.acquire()


def test_certificate_material_that_cannot_be_read_is_named_not_shown() -> None:
    with pytest.raises(UsageError, match=r"anaplan\.fpa: the certificate is not a PEM"):
        CertificateSigner("anaplan.fpa", b"not a certificate", b"secret-key-material")


class Approver:
    """Plays the person at the browser: approves the shown code through the control API."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.shown: list[DeviceCode] = []

    async def __call__(self, code: DeviceCode) -> None:
        self.shown.append(code)
        await self.sandbox.control(
            "POST", "/_sandbox/anaplan/oauth/approve", {"user_code": code.user_code}
        )


async def test_oauth_device_grant_then_rotating_refresh_tokens() -> None:
    persisted: list[str] = []

    async def persist(refresh_token: str) -> None:
        persisted.append(refresh_token)

    async with (
        serve_sandbox() as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now())) as http,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(drive, clock, sandbox)
        approver = Approver(sandbox)
        source = OAuthTokenSource(
            "anaplan.test",
            http,
            sandbox.info["oauth_url"],
            sandbox.info["oauth_client_id"],
            clock,
            refresh_token=None,
            persist_refresh_token=persist,
            show_device_code=approver,
        )
        first = await source.acquire()
        assert first.scheme == "Bearer"
        assert len(approver.shown) == 1 and len(persisted) == 1
        assert clock.sleeps[:1] == [approver.shown[0].interval], "waited the interval first"
        assert await workspaces_with(sandbox, clock, first) == [sandbox.info["workspace"]]

        second = await source.refresh(first)
        assert second.value != first.value
        assert len(persisted) == 2 and persisted[1] != persisted[0], "rotated and persisted"

        restarted = OAuthTokenSource(
            "anaplan.test",
            http,
            sandbox.info["oauth_url"],
            sandbox.info["oauth_client_id"],
            clock,
            refresh_token=persisted[-1],
            persist_refresh_token=persist,
        )
        third = await restarted.acquire()
        assert await workspaces_with(sandbox, clock, third)

        stale = OAuthTokenSource(
            "anaplan.test",
            http,
            sandbox.info["oauth_url"],
            sandbox.info["oauth_client_id"],
            clock,
            refresh_token=persisted[0],
            persist_refresh_token=persist,
        )
        with pytest.raises(AnaplanAuthError, match=r"invalid_grant.*authorize this device again"):
            await stale.acquire()
        assert await sandbox.count(route="/oauth/token", status=429) == 0, "never polled too fast"
        tg.cancel_scope.cancel()


async def test_device_polling_waits_the_interval_and_backs_off_on_429() -> None:
    async with (
        serve_sandbox(oauth_poll_interval_seconds=5) as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now())) as http,
        anyio.create_task_group() as tg,
    ):
        shown: list[DeviceCode] = []
        granted: list[Token] = []

        async def show(code: DeviceCode) -> None:
            shown.append(code)

        source = OAuthTokenSource(
            "anaplan.test",
            http,
            sandbox.info["oauth_url"],
            sandbox.info["oauth_client_id"],
            clock,
            refresh_token=None,
            persist_refresh_token=_ignore,
            show_device_code=show,
        )

        async def login() -> None:
            granted.append(await source.acquire())

        tg.start_soon(login)
        await wait_until(lambda: len(clock.pending) == 1)
        await step(clock, sandbox)  # first poll: authorization_pending
        await wait_until(lambda: len(clock.sleeps) == 2 and len(clock.pending) == 1)
        await sandbox.fault(kind="rate_limit_storm", count=1)
        await step(clock, sandbox)  # second poll: 429
        await wait_until(lambda: len(clock.sleeps) == 3 and len(clock.pending) == 1)
        await Approver(sandbox)(shown[0])
        await step(clock, sandbox)  # third poll: the token
        await wait_until(lambda: bool(granted))

        assert granted[0].scheme == "Bearer"
        assert clock.sleeps == [5, 5, 10], "pending keeps the interval; a 429 adds 5 s"
        assert await sandbox.count(route="/oauth/token", status=403) == 1
        assert await sandbox.count(route="/oauth/token", status=429) == 1


async def test_a_refresh_token_that_cannot_be_stored_is_not_used() -> None:
    async def broken_vault(refresh_token: str) -> None:
        raise MlcError("vault: disk full")

    async with (
        serve_sandbox() as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now())) as http,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(drive, clock, sandbox)
        source = OAuthTokenSource(
            "anaplan.test",
            http,
            sandbox.info["oauth_url"],
            sandbox.info["oauth_client_id"],
            clock,
            refresh_token=None,
            persist_refresh_token=broken_vault,
            show_device_code=Approver(sandbox),
        )
        with pytest.raises(AnaplanAuthError, match="could not store the new OAuth refresh token"):
            await source.acquire()
        tg.cancel_scope.cancel()


async def test_the_keeper_and_authenticator_sign_integration_calls() -> None:
    async with (
        serve_sandbox() as sandbox,
        http_connection(sandbox, clock := DrivenClock(sandbox.now())) as http,
    ):
        async with keeper_running(basic_source(sandbox, http, clock), clock) as keeper:
            client = AnaplanClient(
                AnaplanTransport("anaplan.test", http, KeeperAuthenticator(keeper))
            )
            names = [w.name for w in await client.workspaces()]
            names_again = [w.name for w in await client.workspaces()]

        assert names == names_again == [sandbox.info["workspace"]]
        assert await sandbox.count(route="/token/authenticate") == 1, "one login, reused"


async def _ignore(refresh_token: str) -> None:
    return None
