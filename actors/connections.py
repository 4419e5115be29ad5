"""Wiring one connection: its HTTP sessions, its credentials, its TokenKeeper, its client.

Credentials come from the vault (or the environment / mounted secret files that override it,
:func:`mlc.vault.resolve_credential`) and are registered for redaction by the vault and the token
sources. A connection whose auth hands out expiring tokens gets a TokenKeeper actor, added to the
supervisor here; requests are signed through :class:`actors.token_keeper.KeeperAuthenticator`.
Epicor ``basic`` auth signs every call with the static header and needs no keeper.

Anaplan's request budget is per tenant, so every HTTP session of an Anaplan connection (API,
authentication, CloudWorks) takes one shared limiter per API host from
:class:`mlc.anaplan.limiter.TenantLimiters`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import anyio

from actors.token_keeper import KeeperAuthenticator, KeeperSettings, TokenKeeper
from mlc.anaplan.auth import BasicTokenSource, CertificateTokenSource
from mlc.anaplan.certificate import CertificateSigner
from mlc.anaplan.client import AnaplanClient
from mlc.anaplan.cloudworks import CloudWorksClient
from mlc.anaplan.limiter import TenantLimiters
from mlc.anaplan.oauth import OAuthTokenSource
from mlc.anaplan.transport import AnaplanTransport
from mlc.config import AnaplanConnection, EpicorConnection
from mlc.epicor import connect as epicor_connect
from mlc.epicor.auth import api_key_headers
from mlc.epicor.client import EpicorClient
from mlc.epicor.connect import EpicorSecrets
from mlc.errors import UsageError
from mlc.http import Authenticator, HttpConnection
from mlc.messages import TokenKeeperMessage, TokenSource
from mlc.runtime import ActorRef, Clock, Supervisor

#: Looks up a credential by vault name (``epicor.main.password``).
Secret = Callable[[str], Awaitable[str]]

log = logging.getLogger("mlc.connections")


@dataclass(frozen=True)
class Wired:
    """What the tree keeps of one connection."""

    name: str
    keeper: ActorRef[TokenKeeperMessage] | None


@dataclass(frozen=True)
class AnaplanWired(Wired):
    client: AnaplanClient
    cloudworks: CloudWorksClient


@dataclass(frozen=True)
class EpicorWired(Wired):
    client: EpicorClient


def _keeper(
    supervisor: Supervisor,
    source: TokenSource,
    clock: Clock,
    margin: float,
    settings: KeeperSettings | None,
) -> ActorRef[TokenKeeperMessage]:
    keeper_settings = settings or KeeperSettings(refresh_margin=margin)
    return supervisor.add(
        f"token-keeper:{source.connection}",
        lambda: TokenKeeper(source, clock, keeper_settings),
    )


async def wire_anaplan(
    name: str,
    config: AnaplanConnection,
    secret: Secret,
    *,
    clock: Clock,
    supervisor: Supervisor,
    stack: AsyncExitStack,
    limiters: TenantLimiters,
    keeper_settings: KeeperSettings | None = None,
    keep_secret: Callable[[str, str], Awaitable[None]] | None = None,
) -> AnaplanWired:
    ref = f"anaplan.{name}"
    limiter = limiters.for_tenant(config.api_url, config.requests_per_minute)

    def session(base_url: str) -> HttpConnection:
        return HttpConnection(
            ref,
            base_url,
            system="anaplan",
            clock=clock,
            limiter=limiter,
            total_timeout=config.timeout_seconds,
        )

    auth_http = await stack.enter_async_context(session(config.auth_url))
    source: TokenSource
    if config.auth == "basic":
        assert config.user is not None
        source = BasicTokenSource(
            ref, auth_http, config.auth_url, config.user, await secret(f"{ref}.password"), clock
        )
    elif config.auth == "certificate":
        assert config.certificate_file is not None
        try:
            certificate = await anyio.Path(config.certificate_file).read_bytes()
        except OSError as exc:
            raise UsageError(
                f"connections.{ref}.certificate_file: cannot read {config.certificate_file}: "
                f"{exc.strerror or exc}"
            ) from None
        key = (await secret(f"{ref}.private_key")).encode()
        signer = CertificateSigner(ref, certificate, key, data_format=config.certificate_format)
        source = CertificateTokenSource(ref, auth_http, config.auth_url, signer, clock)
    else:
        assert config.client_id is not None
        oauth_http = await stack.enter_async_context(session(config.oauth_url))

        async def keep_refresh_token(token: str) -> None:
            """Store the rotated refresh token before its access token is used.

            A rotating client invalidates the old refresh token on every use, so a restart
            after an unpersisted rotation would need the device authorised again.
            """
            if keep_secret is None:
                log.warning("refresh_token_not_persisted", extra={"connection": ref})
                return
            await keep_secret(f"{ref}.refresh_token", token)

        source = OAuthTokenSource(
            ref,
            oauth_http,
            config.oauth_url,
            config.client_id,
            clock,
            refresh_token=await secret(f"{ref}.refresh_token"),
            persist_refresh_token=keep_refresh_token,
        )
    keeper = _keeper(
        supervisor, source, clock, config.token_refresh_margin_seconds, keeper_settings
    )
    api_http = await stack.enter_async_context(session(config.api_url))
    transport = AnaplanTransport(ref, api_http, KeeperAuthenticator(keeper))
    return AnaplanWired(
        name=ref,
        keeper=keeper,
        client=AnaplanClient(transport),
        cloudworks=CloudWorksClient(transport, config.cloudworks_url),
    )


async def wire_epicor(
    name: str,
    config: EpicorConnection,
    secret: Secret,
    *,
    clock: Clock,
    supervisor: Supervisor,
    stack: AsyncExitStack,
    keeper_settings: KeeperSettings | None = None,
) -> EpicorWired:
    ref = f"epicor.{name}"
    values = {field: await secret(f"{ref}.{field}") for field in config.required_secrets()}
    secrets = EpicorSecrets(
        api_key=values["api_key"],
        password=values.get("password"),
        client_secret=values.get("client_secret"),
    )
    http = await stack.enter_async_context(epicor_connect.http_connection(ref, config, clock))
    auth: Authenticator
    keeper: ActorRef[TokenKeeperMessage] | None = None
    if config.auth == "basic":
        auth = epicor_connect.basic_authenticator(ref, config, secrets)
    else:
        token_http = http
        if config.auth == "idp":
            assert config.idp_url is not None
            token_http = await stack.enter_async_context(
                HttpConnection(
                    ref,
                    config.idp_url,
                    system="epicor",
                    clock=clock,
                    total_timeout=config.timeout_seconds,
                )
            )
        source = epicor_connect.token_source(ref, config, secrets, token_http, clock)
        assert source is not None
        keeper = _keeper(supervisor, source, clock, 300.0, keeper_settings)
        auth = KeeperAuthenticator(keeper, api_key_headers(secrets.api_key))
    client = EpicorClient(http, auth, epicor_connect.settings(ref, config))
    return EpicorWired(name=ref, keeper=keeper, client=client)
