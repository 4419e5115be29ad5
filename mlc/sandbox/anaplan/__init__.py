"""A faithful Anaplan emulator: four hosts, a working model engine, the real limits and failures.

Hosts (each on its own loopback port, as on the real service): ``auth`` (Authentication API,
``auth.anaplan.com``), ``api`` (Integration API v2.0 under ``/2/0``, ``api.anaplan.com``),
``oauth`` (OAuth 2.0, ``{region}.app.anaplan.com``) and ``cloudworks`` (CloudWorks under ``/2/0``,
``api.cloudworks.anaplan.com``). Every protocol decision, and its source, is in the docstring of
the module that implements it; reference/anaplan.md is the digest of the sources.

Use :func:`build_emulator` and serve it with ``mlc.sandbox.common.server.serve_emulator``.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from mlc.sandbox.anaplan.control import (
    AnaplanFaults,
    Storm,
    add_anaplan_control_routes,
    register_domain_faults,
)
from mlc.sandbox.anaplan.hostapp import API, AUTH, CLOUDWORKS, OAUTH, host_middlewares
from mlc.sandbox.anaplan.options import AnaplanOptions
from mlc.sandbox.anaplan.ratelimit import RateLimiter
from mlc.sandbox.anaplan.routes_api_bulk import add_bulk_routes
from mlc.sandbox.anaplan.routes_api_meta import add_meta_routes
from mlc.sandbox.anaplan.routes_api_model import add_model_routes
from mlc.sandbox.anaplan.routes_auth import add_auth_routes
from mlc.sandbox.anaplan.routes_cloudworks import add_cloudworks_routes
from mlc.sandbox.anaplan.routes_oauth import add_oauth_routes
from mlc.sandbox.anaplan.seed import MODEL_NAME, WORKSPACE_NAME, build_tenant
from mlc.sandbox.anaplan.state import TenantRef
from mlc.sandbox.common.app import new_host_app
from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.common.control import SandboxControl
from mlc.sandbox.common.counters import RequestCounters

__all__ = ["AnaplanEmulator", "AnaplanOptions", "build_emulator"]

ROLES = (AUTH, API, OAUTH, CLOUDWORKS)


class AnaplanEmulator:
    def __init__(self, options: AnaplanOptions, clock: SandboxClock) -> None:
        self.options = options
        self.clock = clock
        self.root = Path(tempfile.mkdtemp(prefix="mlc-sandbox-anaplan-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), True)
        self.limiter = RateLimiter(
            options.rate_limit_per_minute, clock.time, options.rate_limit_retry_after
        )
        self.storm = Storm()
        self.faults = AnaplanFaults(self._clear_domain_faults)
        self.control = SandboxControl(
            clock=clock, counters=RequestCounters(), faults=self.faults, reset_state=self._reset
        )
        self.ref = TenantRef(build_tenant(options, clock, self.control.counters, self.root))
        register_domain_faults(self.faults, self.ref, self.storm)
        self._apps: dict[str, web.Application] = {}
        for role in ROLES:
            app = new_host_app(self.control, role)
            app.middlewares.extend(host_middlewares(role, self.limiter, clock, self.storm.take))
            add_anaplan_control_routes(app, self.ref, self.limiter)
            self._apps[role] = app
        add_auth_routes(self._apps[AUTH], self.ref)
        add_meta_routes(self._apps[API], self.ref)
        add_model_routes(self._apps[API], self.ref)
        add_bulk_routes(self._apps[API], self.ref)
        add_oauth_routes(self._apps[OAUTH], self.ref)
        add_cloudworks_routes(self._apps[CLOUDWORKS], self.ref)

    @property
    def apps(self) -> Mapping[str, web.Application]:
        return self._apps

    def _clear_domain_faults(self) -> None:
        self.storm.remaining = 0
        self.ref.tenant.injected.clear()

    async def _reset(self) -> None:
        old = self.ref.tenant
        old.retired = True
        old.discard_files()
        self.ref.tenant = build_tenant(
            self.options, self.clock, self.control.counters, self.root, old.certificates
        )
        self.limiter.reset()
        self.limiter.per_minute = self.options.rate_limit_per_minute
        self.limiter.retry_after = self.options.rate_limit_retry_after
        self._clear_domain_faults()

    def close(self) -> None:
        """Remove the emulator's files (chunks, dumps, demo certificates) now."""
        self._cleanup()

    def describe(self, urls: Mapping[str, str]) -> dict[str, object]:
        """The ``anaplan`` section of the sandbox URLs file (DESIGN.md §7) plus demo extras."""
        tenant = self.ref.tenant
        state = next(iter(tenant.models.values()))
        certs = tenant.certificates
        oauth = urls[OAUTH]
        return {
            "auth_url": urls[AUTH],
            "api_url": urls[API],
            "oauth_url": oauth,
            "cloudworks_url": urls[CLOUDWORKS],
            "user": self.options.user,
            "password": self.options.password,
            "workspace": WORKSPACE_NAME,
            "model": MODEL_NAME,
            "workspace_id": state.model.workspace_id,
            "model_id": state.model.id,
            "fiscal_year": state.model.time.first_year + 1,
            "other_user": self.options.other_user,
            "other_password": self.options.other_password,
            "oauth_client_id": self.options.oauth_client_id,
            "oauth_device_code_url": f"{oauth}/oauth/device/code",
            "oauth_token_url": f"{oauth}/oauth/token",
            "oauth_verification_url": f"{oauth}/activate",
            "oauth_rotating_refresh_tokens": self.options.oauth_rotate_refresh_tokens,
            "certificate_pem": certs.user_certificate_pem,
            "private_key_pem": certs.user_key_pem,
            "certificate_path": str(certs.user_certificate_path),
            "private_key_path": str(certs.user_key_path),
            "ca_certificate_path": str(certs.ca_certificate_path),
        }


def build_emulator(options: AnaplanOptions, clock: SandboxClock) -> AnaplanEmulator:
    return AnaplanEmulator(options, clock)
