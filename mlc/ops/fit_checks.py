"""``mlc check``'s fit report: ping the real systems and see whether the configuration fits them.

After the configuration, store, vault and credential checks of :mod:`mlc.cli.check`, one check per
question, each a line of the report:

* ``auth <connection>`` — every connection an enabled flow uses logs in (Anaplan: a token from
  the authentication API or OAuth; Epicor: a bearer token, or with ``basic`` one authenticated
  read). Connections no enabled flow uses are listed and not contacted.
* ``anaplan <connection>`` — the workspace and model named in the config resolve to ids.
* ``columns <flow>`` — the Anaplan side of the flow matches its ``columns``: a value flow's import
  reads exactly the columns the flow writes; each ``coa-align`` list import reads only columns the
  flow writes; an outbound flow's export has every header the flow reads.
* ``epicor <flow>`` — every Epicor entity set the flow reads answers a one-row query that
  ``$select``\\ s all the fields the connector reads (an unknown field is a 400 naming it).

Only reads: nothing is uploaded, imported or written. The checks build clients straight from the
protocol modules (not through the actor tree, which only ``mlc/cli`` may import) with a short
retry budget, so a system that is down fails its line in seconds rather than minutes.

Wiring: the checks depend on the configuration, so they are built per run —
``fit_checks(config)`` returns :class:`FitCheck` objects shaped like ``mlc.cli.check.Check``
(``name``, ``run(ctx)``, ``requires``), to run after the built-in ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from mlc.anaplan.auth import BasicTokenSource, CertificateTokenSource
from mlc.anaplan.certificate import CertificateSigner
from mlc.anaplan.client import AnaplanClient, ModelClient
from mlc.anaplan.oauth import OAuthTokenSource
from mlc.anaplan.transport import AnaplanTransport
from mlc.config import AnaplanConnection, Config, EpicorConnection, FlowConfig
from mlc.epicor import connect as epicor_connect
from mlc.epicor import entities
from mlc.epicor.auth import api_key_headers
from mlc.epicor.client import EpicorClient
from mlc.epicor.connect import EpicorSecrets
from mlc.epicor.entities import EntitySet
from mlc.errors import MlcError, UsageError
from mlc.flows.options import (
    COA_ALIGN,
    CoaAlignOptions,
    ValueFlowOptions,
    inbound_spec,
    is_inbound,
)
from mlc.flows.outbound.options import is_outbound, outbound_spec
from mlc.http import Authenticator, HttpConnection
from mlc.http_retry import RetryPolicy
from mlc.messages import Token, TokenSource
from mlc.runtime.clock import Clock, SystemClock

#: Fail fast: a check is a question, not a sync that must get through.
CHECK_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_total_wait=2.0)
CHECK_TIMEOUT = 30.0

#: What each flow kind reads from Epicor (the entity sets of actors/epicor_pulls.py and
#: actors/epicor_writer.py's look-ups).
EPICOR_READS: dict[str, tuple[EntitySet[Any], ...]] = {
    "coa-align": (entities.COA_SEG_VALUES,),
    "gl-actuals": (entities.GL_PERIOD_BALANCES, entities.COA_SEG_VALUES),
    "ap-spend": (entities.AP_INVOICES, entities.AP_INVOICE_LINES),
    "budget-to-gl": (entities.COA_SEG_VALUES, entities.GL_ACCOUNTS, entities.BUDGET_DETAILS),
}


class FitContext(Protocol):
    """What the checks need of ``mlc.cli.check.CheckContext``."""

    @property
    def config(self) -> Config: ...

    @property
    def stack(self) -> AsyncExitStack: ...

    async def vault(self) -> Any: ...


FitFunction = Callable[[FitContext], Awaitable[str]]


@dataclass(frozen=True)
class FitCheck:
    name: str
    run: FitFunction
    requires: tuple[str, ...] = ()


class _TokenAuthenticator:
    """Signs with one token obtained up front; a 401 afterwards is the answer, not a cue."""

    def __init__(self, token: Token, extra: Mapping[str, str] | None = None) -> None:
        self._headers = {**(extra or {}), "Authorization": token.authorization}

    async def headers(self) -> Mapping[str, str]:
        return self._headers

    async def on_rejected(self, sent_headers: Mapping[str, str]) -> None:
        return None


@dataclass
class _Probe:
    """Clients built once per ``mlc check`` and shared by its checks."""

    config: Config
    clock: Clock = field(default_factory=SystemClock)
    anaplan: dict[str, AnaplanClient] = field(default_factory=dict)
    models: dict[str, ModelClient] = field(default_factory=dict)
    epicor: dict[str, EpicorClient] = field(default_factory=dict)

    async def secret(self, ctx: FitContext, name: str) -> str:
        configured = self.config.configured_secret(name)
        if configured:
            return configured
        value: str = await (await ctx.vault()).get(name)
        return value

    def http(self, ctx: FitContext, ref: str, base_url: str, timeout: float) -> HttpConnection:
        connection = HttpConnection(
            ref,
            base_url,
            clock=self.clock,
            retry=CHECK_RETRY,
            total_timeout=min(timeout, CHECK_TIMEOUT),
        )
        ctx.stack.push_async_callback(connection.aclose)
        return connection

    async def anaplan_login(self, ctx: FitContext, name: str, cfg: AnaplanConnection) -> str:
        ref = f"anaplan.{name}"
        auth_http = self.http(ctx, ref, cfg.auth_url, cfg.timeout_seconds)
        source: TokenSource
        if cfg.auth == "basic":
            assert cfg.user is not None
            password = await self.secret(ctx, f"{ref}.password")
            source = BasicTokenSource(ref, auth_http, cfg.auth_url, cfg.user, password, self.clock)
        elif cfg.auth == "certificate":
            assert cfg.certificate_file is not None
            try:
                certificate = await anyio.Path(cfg.certificate_file).read_bytes()
            except OSError as exc:
                raise UsageError(
                    f"connections.{ref}.certificate_file: cannot read {cfg.certificate_file}: "
                    f"{exc.strerror or exc}"
                ) from None
            key = (await self.secret(ctx, f"{ref}.private_key")).encode()
            signer = CertificateSigner(ref, certificate, key, data_format=cfg.certificate_format)
            source = CertificateTokenSource(ref, auth_http, cfg.auth_url, signer, self.clock)
        else:
            assert cfg.client_id is not None
            oauth_http = self.http(ctx, ref, cfg.oauth_url, cfg.timeout_seconds)

            async def keep(token: str) -> None:
                del token  # a check does not rotate the stored refresh token

            source = OAuthTokenSource(
                ref,
                oauth_http,
                cfg.oauth_url,
                cfg.client_id,
                self.clock,
                refresh_token=await self.secret(ctx, f"{ref}.refresh_token"),
                persist_refresh_token=keep,
            )
        token = await source.acquire()
        api_http = self.http(ctx, ref, cfg.api_url, cfg.timeout_seconds)
        self.anaplan[ref] = AnaplanClient(
            AnaplanTransport(ref, api_http, _TokenAuthenticator(token))
        )
        minutes = max(0, int(token.remaining(self.clock.time()) // 60))
        return f"{cfg.auth} login as {cfg.user or cfg.client_id}, token valid {minutes} min"

    async def epicor_login(self, ctx: FitContext, name: str, cfg: EpicorConnection) -> str:
        ref = f"epicor.{name}"
        http = self.http(ctx, ref, cfg.base_url, cfg.timeout_seconds)
        secrets = EpicorSecrets(
            api_key=await self.secret(ctx, f"{ref}.api_key"),
            password=(
                await self.secret(ctx, f"{ref}.password") if cfg.auth != "idp" else None
            ),
            client_secret=(
                await self.secret(ctx, f"{ref}.client_secret") if cfg.auth == "idp" else None
            ),
        )
        auth: Authenticator
        settings = epicor_connect.settings(ref, cfg)
        if cfg.auth == "basic":
            auth = epicor_connect.basic_authenticator(ref, cfg, secrets)
            client = EpicorClient(http, auth, settings)
            await _first_row(client, entities.COA_SEG_VALUES)
            detail = f"basic as {cfg.user}: an authenticated read of COASegValues answered"
        else:
            token_http = http
            if cfg.auth == "idp":
                assert cfg.idp_url is not None
                token_http = self.http(ctx, ref, cfg.idp_url, cfg.timeout_seconds)
            source = epicor_connect.token_source(ref, cfg, secrets, token_http, self.clock)
            assert source is not None
            token = await source.acquire()
            auth = _TokenAuthenticator(token, api_key_headers(secrets.api_key))
            client = EpicorClient(http, auth, settings)
            minutes = max(0, int(token.remaining(self.clock.time()) // 60))
            detail = f"{cfg.auth} bearer token obtained, valid {minutes} min"
        self.epicor[ref] = client
        return detail

    async def model(self, ctx: FitContext, ref: str) -> ModelClient:
        if ref not in self.models:
            name = ref.split(".", 1)[1]
            cfg = self.config.connections.anaplan[name]
            found = await self.anaplan[ref].resolve(cfg.workspace, cfg.model)
            self.models[ref] = self.anaplan[ref].model(found)
        return self.models[ref]


async def _first_row(client: EpicorClient, entity: EntitySet[Any]) -> None:
    async for _ in client.pages(entity, page_size=1, count_check=False):
        break


def _used_connections(config: Config) -> set[str]:
    return {
        ref for flow in config.flows.values() if flow.enabled for ref in (flow.source, flow.target)
    }


def _auth_check(probe: _Probe, ref: str, used: bool) -> FitCheck:
    kind, name = ref.split(".", 1)

    async def run(ctx: FitContext) -> str:
        if not used:
            return "not used by an enabled flow; not contacted"
        if kind == "anaplan":
            return await probe.anaplan_login(ctx, name, probe.config.connections.anaplan[name])
        if kind == "epicor":
            return await probe.epicor_login(ctx, name, probe.config.connections.epicor[name])
        raise MlcError(f"{ref}: this version has no {kind} client to check the login with")

    return FitCheck(f"auth {ref}", run, requires=("credentials",))


def _anaplan_check(probe: _Probe, ref: str) -> FitCheck:
    async def run(ctx: FitContext) -> str:
        model = await probe.model(ctx, ref)
        found = model.ref
        return (
            f"workspace {found.workspace_name!r} = {found.workspace_id}, "
            f"model {found.model_name!r} = {found.model_id}"
        )

    return FitCheck(f"anaplan {ref}", run, requires=(f"auth {ref}",))


async def _import_headers(model: ModelClient, name: str) -> list[str]:
    item = await model.find_import(name)
    metadata = await model.import_metadata(item.id)
    return list(metadata.source.headerNames) if metadata.source else []


def _compare_exact(flow: str, action: str, headers: Sequence[str], written: Sequence[str]) -> str:
    missing = [h for h in headers if h not in written]
    extra = [h for h in written if h not in headers]
    problems = []
    if missing:
        problems.append(f"the import {action!r} reads {missing}, which the flow does not write")
    if extra:
        problems.append(f"the import {action!r} has no column {extra} (it has {list(headers)})")
    if problems:
        raise UsageError(f"flows.{flow}.columns: " + "; ".join(problems))
    return f"{action!r}: {len(headers)} columns match"


def _columns_check(probe: _Probe, name: str, flow: FlowConfig) -> FitCheck:
    anaplan = flow.target if is_inbound(flow) else flow.source

    async def run(ctx: FitContext) -> str:
        model = await probe.model(ctx, anaplan)
        if is_inbound(flow):
            spec = inbound_spec(name, flow)
            if spec.kind == COA_ALIGN:
                options = spec.options
                assert isinstance(options, CoaAlignOptions)
                if options.mode == "report":
                    lists = [options.accounts_list, options.cost_centers_list]
                    for list_name in lists:
                        await model.find_list(list_name)
                    return f"report mode: lists {lists} found"
                lines = []
                for action in (options.accounts_import, options.cost_centers_import):
                    headers = await _import_headers(model, action)
                    absent = [h for h in headers if h not in spec.headers]
                    if absent:
                        raise UsageError(
                            f"flows.{name}.columns: the import {action!r} reads {absent}, "
                            "which the flow does not write"
                        )
                    lines.append(f"{action!r} ({len(headers)} columns)")
                return "imports " + ", ".join(lines) + " fed"
            assert isinstance(spec.options, ValueFlowOptions)
            action = spec.options.import_name
            return _compare_exact(name, action, await _import_headers(model, action), spec.headers)
        outbound = outbound_spec(name, flow)
        export = await model.find_export(outbound.options.export)
        metadata = await model.export_metadata(export.id)
        wanted = list(outbound.columns.values())
        absent = [h for h in wanted if h not in metadata.headerNames]
        if absent:
            raise UsageError(
                f"flows.{name}.columns: the export {outbound.options.export!r} has no column "
                f"{absent} (it has {metadata.headerNames})"
            )
        return f"export {outbound.options.export!r}: the {len(wanted)} columns read are there"

    return FitCheck(f"columns {name}", run, requires=(f"anaplan {anaplan}",))


def _epicor_check(probe: _Probe, name: str, flow: FlowConfig) -> FitCheck:
    epicor = flow.source if flow.source.startswith("epicor.") else flow.target
    reads = EPICOR_READS.get(flow.kind, ())

    async def run(ctx: FitContext) -> str:
        if is_outbound(flow) and outbound_spec(name, flow).options.journal:
            extra: tuple[EntitySet[Any], ...] = (entities.JOURNAL_LINES,)
        else:
            extra = ()
        client = probe.epicor[epicor]
        for entity in (*reads, *extra):
            await _first_row(client, entity)
        return ", ".join(f"{e.path} ({len(e.select)} fields)" for e in (*reads, *extra))

    return FitCheck(f"epicor {name}", run, requires=(f"auth {epicor}",))


def fit_checks(config: Config) -> list[FitCheck]:
    """The checks of ``config``'s connections and enabled flows, in report order."""
    probe = _Probe(config)
    used = _used_connections(config)
    checks = [_auth_check(probe, ref, ref in used) for ref, _ in config.connections.items()]
    checks += [
        _anaplan_check(probe, ref)
        for ref, _ in config.connections.items()
        if ref.startswith("anaplan.") and ref in used
    ]
    for name, flow in config.flows.items():
        if not flow.enabled:
            continue
        if (is_inbound(flow) or is_outbound(flow)) and (
            flow.source.startswith("anaplan.") or flow.target.startswith("anaplan.")
        ):
            checks.append(_columns_check(probe, name, flow))
        if flow.kind in EPICOR_READS and any(
            ref.startswith("epicor.") for ref in (flow.source, flow.target)
        ):
            checks.append(_epicor_check(probe, name, flow))
    return checks
