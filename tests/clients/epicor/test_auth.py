"""Every Epicor authentication mode against the emulator over real HTTP."""

from __future__ import annotations

import logging

import pytest

from actors.token_keeper import KeeperSettings, TokenUnavailable
from mlc.epicor import entities
from mlc.epicor.auth import IdpClientCredentialsSource, TokenServiceSource
from mlc.epicor.client import EpicorClient
from mlc.epicor.errors import EpicorAuthError
from mlc.http import HttpConnection
from mlc.messages import TokenSource
from mlc.runtime import ManualClock
from tests.clients.epicor.support import (
    CONNECTION,
    Sandbox,
    StepClock,
    basic_auth,
    basic_client,
    client,
    http_connection,
    keeper_auth,
    keeper_running,
    serve_sandbox,
)

pytestmark = pytest.mark.anyio

ACCOUNTS = "Erp.BO.GLAccountSvc/GLAccounts"
KEY = ["EPIC06", "MAIN", "1000|11|00"]
NAME = "Cash - Operating - Finance - Corporate"


def token_source(
    sandbox: Sandbox, http: HttpConnection, clock: ManualClock, **override: str
) -> TokenServiceSource:
    info = {**sandbox.info, **override}
    return TokenServiceSource(
        http,
        CONNECTION,
        user=info["user"],
        password=info["password"],
        api_key=info["api_key"],
        clock=clock,
    )


def idp_source(
    sandbox: Sandbox, http: HttpConnection, clock: ManualClock, **override: str
) -> IdpClientCredentialsSource:
    info = {**sandbox.info, **override}
    return IdpClientCredentialsSource(
        http,
        CONNECTION,
        idp_url=info["idp_url"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        clock=clock,
    )


async def account_name(epicor: EpicorClient) -> str:
    return (await epicor.get(entities.GL_ACCOUNTS, KEY)).AccountDesc


async def test_basic_with_api_key() -> None:
    async with serve_sandbox() as sandbox, basic_client(sandbox) as (epicor, _):
        assert await account_name(epicor) == NAME
        assert await sandbox.count(route=sandbox.route(f"{ACCOUNTS}({{keys}})"), status=200) == 1


@pytest.mark.parametrize("mode", ["token", "idp"])
async def test_bearer_modes_through_the_token_keeper(mode: str) -> None:
    async with serve_sandbox() as sandbox:
        clock = StepClock(sandbox.now())
        async with http_connection(sandbox, clock) as http:
            source: TokenSource = (
                token_source(sandbox, http, clock)
                if mode == "token"
                else idp_source(sandbox, http, clock)
            )
            token = await source.acquire()
            assert token.scheme == "Bearer"
            assert token.expires_at == pytest.approx(clock.time() + 3600)
            async with keeper_running(source, clock) as keeper:
                epicor = client(sandbox, http, keeper_auth(sandbox, keeper))
                assert await account_name(epicor) == NAME
                assert await account_name(epicor) == NAME
        token_route = (
            f"/{sandbox.info['instance']}/TokenResource.svc/"
            if mode == "token"
            else "/connect/token"
        )
        assert await sandbox.count(route=token_route, status=200) == 2
        assert await sandbox.count(status=401) == 0


async def test_wrong_password_is_one_clear_error_and_is_not_repeated() -> None:
    async with serve_sandbox() as sandbox:
        clock = StepClock(sandbox.now())
        async with http_connection(sandbox, clock) as http:
            wrong = "Not-The-Password-123"
            epicor = client(sandbox, http, basic_auth(sandbox, password=wrong))
            with pytest.raises(EpicorAuthError) as caught:
                await account_name(epicor)
        message = str(caught.value)
        assert message == (
            f"{CONNECTION}: GET /ERP11/api/v2/odata/EPIC06/{ACCOUNTS}('EPIC06','MAIN','1000|11|00')"
            " → 401 Unauthorized: Invalid user name or password. "
            "[Epicor.RESTApi.ErrorHandling.ApiException] correlation id "
            f"{caught.value.correlation_id} (not retried: a static credential does not change; "
            "check the user, password and API key)"
        )
        assert wrong not in message and sandbox.info["api_key"] not in message
        assert await sandbox.count(status=401) == 1


async def test_wrong_api_key_is_one_clear_error() -> None:
    async with serve_sandbox() as sandbox:
        clock = StepClock(sandbox.now())
        async with http_connection(sandbox, clock) as http:
            epicor = client(sandbox, http, basic_auth(sandbox, api_key="sbx_wrong_key_0000"))
            with pytest.raises(
                EpicorAuthError, match=f"^{CONNECTION}: GET .* → 401 Unauthorized: Invalid API key"
            ):
                await account_name(epicor)
            source = token_source(sandbox, http, clock, api_key="sbx_wrong_key_0000")
            with pytest.raises(EpicorAuthError) as caught:
                await source.acquire()
        assert str(caught.value).startswith(
            f"{CONNECTION}: POST /TokenResource.svc/ → 401 Unauthorized: Invalid API key."
        )
        assert "sbx_wrong_key_0000" not in str(caught.value)
        assert await sandbox.count(status=401) == 2


async def test_wrong_token_service_password_and_idp_secret() -> None:
    async with serve_sandbox() as sandbox:
        clock = StepClock(sandbox.now())
        async with http_connection(sandbox, clock) as http:
            with pytest.raises(EpicorAuthError) as by_password:
                await token_source(sandbox, http, clock, password="Wrong-Password-1").acquire()
            with pytest.raises(EpicorAuthError) as by_secret:
                await idp_source(sandbox, http, clock, client_secret="wrong-secret-99").acquire()
            source = idp_source(sandbox, http, clock, client_secret="wrong-secret-99")
            async with keeper_running(source, clock) as keeper:
                epicor = client(sandbox, http, keeper_auth(sandbox, keeper))
                with pytest.raises(TokenUnavailable, match="invalid_client"):
                    await account_name(epicor)
        assert str(by_password.value) == (
            f"{CONNECTION}: POST /TokenResource.svc/ → 401 Unauthorized: Invalid user name or "
            "password. [Epicor.RESTApi.ErrorHandling.ApiException] correlation id "
            f"{by_password.value.correlation_id} (no token: check the credentials and the API key)"
        )
        assert "Wrong-Password-1" not in str(by_password.value)
        assert str(by_secret.value).startswith(
            f"{CONNECTION}: POST /connect/token → 400 Bad Request: invalid_client"
        )
        assert "wrong-secret-99" not in str(by_secret.value)


async def test_an_expired_bearer_is_replaced_after_the_401() -> None:
    """The sandbox clock passes the token's hour; the connector's clock does not notice."""
    async with serve_sandbox() as sandbox:
        clock = StepClock(sandbox.now())
        async with http_connection(sandbox, clock) as http:
            source = token_source(sandbox, http, clock)
            async with keeper_running(source, clock) as keeper:
                epicor = client(sandbox, http, keeper_auth(sandbox, keeper))
                assert await account_name(epicor) == NAME
                await sandbox.advance(3700)
                assert await account_name(epicor) == NAME
        token_route = f"/{sandbox.info['instance']}/TokenResource.svc/"
        assert await sandbox.count(route=token_route, status=200) == 2
        assert await sandbox.count(route=sandbox.route(f"{ACCOUNTS}({{keys}})"), status=401) == 1


async def test_a_bearer_is_refreshed_before_its_hour_runs_out() -> None:
    """Both clocks move 55 minutes: the keeper renews inside its margin, nothing gets a 401."""
    async with serve_sandbox() as sandbox:
        clock = StepClock(sandbox.now())
        async with http_connection(sandbox, clock) as http:
            source = idp_source(sandbox, http, clock)
            settings = KeeperSettings(refresh_margin=600)
            async with keeper_running(source, clock, settings) as keeper:
                epicor = client(sandbox, http, keeper_auth(sandbox, keeper))
                assert await account_name(epicor) == NAME
                await sandbox.advance(3300)
                await clock.advance(3300)
                assert await account_name(epicor) == NAME
                await sandbox.advance(3300)
                await clock.advance(3300)
                assert await account_name(epicor) == NAME
        assert await sandbox.count(route="/connect/token", status=200) == 3
        assert await sandbox.count(status=401) == 0


async def test_no_secret_reaches_logs_or_errors() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("mlc")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        async with serve_sandbox() as sandbox:
            clock = StepClock(sandbox.now())
            async with http_connection(sandbox, clock) as http:
                source = token_source(sandbox, http, clock)
                token = await source.acquire()
                async with keeper_running(source, clock) as keeper:
                    epicor = client(sandbox, http, keeper_auth(sandbox, keeper))
                    await account_name(epicor)
                    await sandbox.advance(3700)
                    await account_name(epicor)
                wrong = client(sandbox, http, basic_auth(sandbox, password="Leaky-Pass-77"))
                with pytest.raises(EpicorAuthError) as caught:
                    await account_name(wrong)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    secrets = (
        sandbox.info["password"],
        sandbox.info["api_key"],
        "Leaky-Pass-77",
        token.value,
    )
    texts = [str(caught.value)] + [f"{record.getMessage()} {record.__dict__}" for record in records]
    assert any("token_renewed" in text for text in texts)
    for secret in secrets:
        assert not any(secret in text for text in texts), secret
