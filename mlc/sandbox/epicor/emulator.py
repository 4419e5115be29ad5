"""The Epicor emulator: two hosts (the application server ``api`` and the identity provider
``idp``), their shared state, and the URLs-file section describing them (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.control import SandboxControl, add_control_routes
from mlc.sandbox.common.counters import counting_middleware
from mlc.sandbox.common.faults import fault_middleware
from mlc.sandbox.epicor.auth import Tokens
from mlc.sandbox.epicor.budgets import Budgets
from mlc.sandbox.epicor.config import EpicorOptions
from mlc.sandbox.epicor.control import EpicorControl
from mlc.sandbox.epicor.faults import EpicorFaults
from mlc.sandbox.epicor.idp import IdentityProvider
from mlc.sandbox.epicor.journals import Journals
from mlc.sandbox.epicor.middleware import (
    domain_faults_middleware,
    errors_middleware,
    v2_middleware,
)
from mlc.sandbox.epicor.routes import ApiRoutes
from mlc.sandbox.epicor.state import EpicorState
from mlc.sandbox.epicor.writes import Writers

API = "api"
IDP = "idp"
CLIENT_MAX_SIZE = 64 * 1024**2


class EpicorEmulator:
    def __init__(self, options: EpicorOptions, clock: SandboxClock) -> None:
        self.options = options
        self.clock = clock
        self.state = EpicorState(options, clock)
        self.faults = EpicorFaults()
        self.control = SandboxControl(clock=clock, reset_state=self._reset)
        self.faults.register(self.control.faults)
        self.tokens = Tokens(clock, self._token_lifetime)
        counters = self.control.counters
        self.journals = Journals(self.state, counters)
        self.budgets = Budgets(self.state, counters)
        writers = Writers(self.state, self.budgets, counters)
        methods = {**self.journals.methods(), **self.budgets.methods()}
        self._routes = ApiRoutes(self.state, self.tokens, self.faults, methods, writers)
        self._apps = {API: self._api_app(), IDP: self._idp_app()}

    def _token_lifetime(self) -> float:
        return self.faults.token_lifetime or self.options.token_lifetime

    async def _reset(self) -> None:
        self.state.reset()
        self.faults.clear()

    def _host(self, role: str, *extra: object) -> web.Application:
        app = web.Application(
            middlewares=[
                counting_middleware(self.control.counters, role),
                fault_middleware(self.control.faults, role),
                domain_faults_middleware(self.faults),
                errors_middleware(self.options),
                *extra,  # type: ignore[list-item]
            ],
            client_max_size=CLIENT_MAX_SIZE,
        )
        add_control_routes(app, self.control)
        return app

    def _api_app(self) -> web.Application:
        app = self._host(API, v2_middleware(self.options, self.tokens, self.faults))
        self._routes.register(app)
        EpicorControl(self.state, self.faults, self.control.counters, self.budgets).register(app)
        return app

    def _idp_app(self) -> web.Application:
        app = self._host(IDP)
        IdentityProvider(self.options, self.tokens).register(app)
        return app

    @property
    def apps(self) -> Mapping[str, web.Application]:
        return self._apps

    def describe(self, urls: Mapping[str, str]) -> dict[str, object]:
        """The ``epicor`` section of the sandbox URLs file (DESIGN §7 keys first)."""
        options = self.options
        base = f"{urls[API]}/{options.instance}"
        return {
            "base_url": base,
            "company": options.company,
            "user": options.user,
            "password": options.password,
            "api_key": options.api_key,
            "idp_url": urls[IDP],
            "client_id": options.client_id,
            "client_secret": options.client_secret,
            "instance": options.instance,
            "plant": options.plant,
            "scope": options.scope,
            "token_url": f"{base}/TokenResource.svc/",
            "idp_token_url": f"{urls[IDP]}/connect/token",
            "baq_id": options.baq_id,
            "page_cap": options.page_cap,
            "fiscal_year": self.state.fiscal_year,
            "balance_rows": self.state.balances.size(),
        }
