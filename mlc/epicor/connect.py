"""From ``[connections.epicor.<name>]`` to the pieces the actor tree wires together.

The client does not own its authentication: for ``basic`` the tree signs requests with
:func:`basic_authenticator`; for ``token`` and ``idp`` it runs a TokenKeeper over
:func:`token_source` and signs with the keeper's authenticator plus
:func:`mlc.epicor.auth.api_key_headers`. Secrets come in as an :class:`EpicorSecrets`, resolved
by the caller from the vault or the configured overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlc.config import EpicorConnection
from mlc.epicor.auth import BasicAuthenticator, IdpClientCredentialsSource, TokenServiceSource
from mlc.epicor.client import EpicorSettings
from mlc.errors import UsageError
from mlc.http import HttpConnection
from mlc.messages import TokenSource
from mlc.runtime.clock import Clock


@dataclass(frozen=True)
class EpicorSecrets:
    """The vault credentials of one Epicor connection (``epicor.<name>.<field>``)."""

    api_key: str = field(repr=False)
    password: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)


def settings(connection: str, config: EpicorConnection) -> EpicorSettings:
    """``connection`` is the full name, ``epicor.main``."""
    return EpicorSettings(
        connection=connection,
        company=config.company,
        page_size=config.page_size,
        plant=config.plant,
    )


def http_connection(connection: str, config: EpicorConnection, clock: Clock) -> HttpConnection:
    """The connection's HTTP session; ``base_url`` is server plus instance."""
    return HttpConnection(
        connection,
        config.base_url,
        system="epicor",
        clock=clock,
        total_timeout=config.timeout_seconds,
    )


def _require(value: str | None, connection: str, name: str) -> str:
    if not value:
        raise UsageError(f"connections.{connection}.{name}: required for this auth mode, not set")
    return value


def basic_authenticator(
    connection: str, config: EpicorConnection, secrets: EpicorSecrets
) -> BasicAuthenticator:
    if config.auth != "basic":
        raise UsageError(f"{connection}: auth is {config.auth!r}, not 'basic'")
    return BasicAuthenticator(
        connection,
        _require(config.user, connection, "user"),
        _require(secrets.password, connection, "password"),
        _require(secrets.api_key, connection, "api_key"),
    )


def token_source(
    connection: str,
    config: EpicorConnection,
    secrets: EpicorSecrets,
    http: HttpConnection,
    clock: Clock,
) -> TokenSource | None:
    """The bearer token source for ``token``/``idp`` auth; ``None`` for ``basic``."""
    if config.auth == "basic":
        return None
    if config.auth == "token":
        return TokenServiceSource(
            http,
            connection,
            user=_require(config.user, connection, "user"),
            password=_require(secrets.password, connection, "password"),
            api_key=_require(secrets.api_key, connection, "api_key"),
            clock=clock,
        )
    return IdpClientCredentialsSource(
        http,
        connection,
        idp_url=_require(config.idp_url, connection, "idp_url"),
        client_id=_require(config.client_id, connection, "client_id"),
        client_secret=_require(secrets.client_secret, connection, "client_secret"),
        clock=clock,
        scope=config.scope,
    )
