"""The configuration's schema: one msgspec Struct per section, with defaults and checks.

How the file, the environment and secret files are layered and validated is in
:mod:`mlc.config.loading`; the package docstring has the whole picture.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import msgspec

from mlc.errors import UsageError

ENV_PREFIX = "MLC_"
SECRETS_DIR_ENV = "MLC_SECRETS_DIR"

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeSeconds = Annotated[float, msgspec.Meta(ge=0)]
OptionValue = str | int | float | bool | list[str]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
BARE_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CONNECTION_KINDS = ("epicor", "anaplan", "workday")


class ConfigError(UsageError):
    """The configuration is invalid; :attr:`errors` holds one self-contained line per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


class Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Base of every config table: unknown keys are errors, fields are keyword-only."""

    #: Fields holding secrets: refused in the TOML file, registered for redaction when loaded.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()
    #: Fields holding filesystem paths, resolved against the config file's directory.
    PATH_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def problems(self) -> Iterator[tuple[str, str]]:
        """Semantic errors as ``(field, message)``; runs only once the table's types are right."""
        return iter(())


def _valid_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _url_problems(section: Section, *fields: str) -> Iterator[tuple[str, str]]:
    for name in fields:
        value = getattr(section, name)
        if value is not None and not _is_url(value):
            yield name, f"expected an http:// or https:// URL, got {value!r}"


def _required_for(
    section: Section, setting: str, fields: tuple[str, ...]
) -> Iterator[tuple[str, str]]:
    value = getattr(section, setting)
    for name in fields:
        if getattr(section, name) is None:
            yield name, f"required when {setting} = {value!r}"


class ServiceConfig(Section, frozen=True, kw_only=True):
    """``[service]``: the process itself."""

    PATH_FIELDS = frozenset({"state_dir", "pid_file", "secrets_dir"})

    #: Directory of the durable state: the SQLite store lives at ``state_dir/mlc.db``.
    state_dir: str
    #: Address the ops HTTP server (``/livez``, ``/readyz``, ``/metrics``, ``/status``) binds to.
    http_host: str = "0.0.0.0"
    #: Port of the ops HTTP server; 0 picks a free port (tests).
    http_port: Port = 8080
    #: Time allowed between SIGTERM and exit; keep below the pod's terminationGracePeriodSeconds.
    shutdown_grace_seconds: Seconds = 25.0
    #: Lowest level written to the JSON log on stdout.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: Where ``mlc run`` writes its pid for ``mlc trigger``; default ``state_dir/mlc.pid``.
    pid_file: str | None = None
    #: Directory of mounted secret files (see the module docstring); ``$MLC_SECRETS_DIR`` wins.
    secrets_dir: str | None = None
    #: IANA zone for schedules that do not name their own (close calendars are local).
    timezone: str = "UTC"
    #: At start, run once each flow whose scheduled fire time passed while the service was down.
    run_missed_at_start: bool = True

    @property
    def db_path(self) -> Path:
        return Path(self.state_dir) / "mlc.db"

    @property
    def pid_path(self) -> Path:
        return Path(self.pid_file) if self.pid_file else Path(self.state_dir) / "mlc.pid"

    def problems(self) -> Iterator[tuple[str, str]]:
        if not _valid_timezone(self.timezone):
            yield "timezone", f"unknown time zone {self.timezone!r}"


class SupervisorConfig(Section, frozen=True, kw_only=True):
    """``[supervisor]``: how crashed actors are restarted before the process gives up."""

    #: Restarts of one actor allowed within ``restart_window_seconds`` before escalating (exit).
    max_restarts: NonNegativeInt = 5
    #: Sliding window over which restarts are counted.
    restart_window_seconds: Seconds = 60.0
    #: First restart delay; doubles per restart (with jitter) up to ``backoff_max_seconds``.
    backoff_initial_seconds: NonNegativeSeconds = 0.5
    #: Ceiling of the restart delay.
    backoff_max_seconds: NonNegativeSeconds = 30.0
    #: Capacity of each actor's mailbox; a full mailbox makes senders wait (back-pressure).
    mailbox_size: PositiveInt = 64

    def problems(self) -> Iterator[tuple[str, str]]:
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            yield "backoff_max_seconds", "must be >= backoff_initial_seconds"


class VaultConfig(Section, frozen=True, kw_only=True):
    """``[vault]``: where the credential encryption key comes from."""

    PATH_FIELDS = frozenset({"key_file"})

    #: File holding the 32-byte AES key (raw, base64 or hex); without it ``$MLC_VAULT_KEY``.
    key_file: str | None = None


class EpicorConnection(Section, frozen=True, kw_only=True):
    """``[connections.epicor.<name>]``: one Epicor Kinetic REST v2 account.

    Vault credentials: ``epicor.<name>.api_key`` (the ``x-api-key`` header, every call),
    ``epicor.<name>.password`` (basic and token auth), ``epicor.<name>.client_secret`` (idp).
    """

    SECRET_FIELDS = frozenset({"password", "api_key", "client_secret"})

    #: Server plus instance path, e.g. ``https://erp.example.com/ERP11``; API paths follow it.
    base_url: str
    #: Company id; v2 puts it in every OData path (``/api/v2/odata/{company}/…``).
    company: str
    #: Plant sent in the ``CallSettings`` header; the user's default plant when omitted.
    plant: str | None = None
    #: ``basic``: Basic header on every call; ``token``: bearer from ``TokenResource.svc``;
    #: ``idp``: bearer from the Epicor IdP (OAuth2 client credentials).
    auth: Literal["basic", "token", "idp"] = "basic"
    #: Epicor user for ``basic`` and ``token`` auth.
    user: str | None = None
    #: Epicor IdP base URL (``…/connect/token`` follows it), for ``idp`` auth.
    idp_url: str | None = None
    #: OAuth2 client id registered at the IdP, for ``idp`` auth.
    client_id: str | None = None
    #: OAuth2 scope requested from the IdP.
    scope: str = "epicor_erp"
    #: Rows per ``$top``/``$skip`` page; Epicor caps list calls at 100 unless the server says more.
    page_size: PositiveInt = 100
    #: Total time allowed for one HTTP request.
    timeout_seconds: Seconds = 60.0
    #: Overrides of the vault credentials (environment or secret files only).
    password: str | None = None
    api_key: str | None = None
    client_secret: str | None = None

    def required_secrets(self) -> tuple[str, ...]:
        return ("api_key", "client_secret") if self.auth == "idp" else ("api_key", "password")

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from _url_problems(self, "base_url", "idp_url")
        if self.auth in ("basic", "token"):
            yield from _required_for(self, "auth", ("user",))
        else:
            yield from _required_for(self, "auth", ("idp_url", "client_id"))


class AnaplanConnection(Section, frozen=True, kw_only=True):
    """``[connections.anaplan.<name>]``: one Anaplan tenant account and the model it works on.

    Vault credentials: ``anaplan.<name>.password`` (basic), ``anaplan.<name>.private_key`` (PEM,
    certificate auth), ``anaplan.<name>.refresh_token`` and ``anaplan.<name>.client_secret``
    (oauth; the secret only for authorization-code clients).
    """

    SECRET_FIELDS = frozenset({"password", "private_key", "refresh_token", "client_secret"})
    PATH_FIELDS = frozenset({"certificate_file"})

    #: Authentication API host (``/token/authenticate`` follows it).
    auth_url: str = "https://auth.anaplan.com"
    #: Integration API host (``/2/0/…`` follows it).
    api_url: str = "https://api.anaplan.com"
    #: OAuth host (``/oauth/token`` follows it); regional, e.g. ``https://us1a.app.anaplan.com``.
    oauth_url: str = "https://us1a.app.anaplan.com"
    #: CloudWorks API host, used to see whether a CloudWorks run holds the model.
    cloudworks_url: str = "https://api.cloudworks.anaplan.com"
    #: ``basic`` (user + password), ``certificate`` (CA certificate + private key) or ``oauth``.
    auth: Literal["basic", "certificate", "oauth"] = "basic"
    #: Anaplan user (an email) for ``basic`` auth.
    user: str | None = None
    #: Workspace name; its id is resolved by name at start-up.
    workspace: str
    #: Model name; its id is resolved by name at start-up.
    model: str
    #: PEM certificate for ``certificate`` auth (its private key is in the vault).
    certificate_file: str | None = None
    #: ``v2`` prefixes the signed data with a timestamp; ``v1`` is the older scheme.
    certificate_format: Literal["v2", "v1"] = "v2"
    #: OAuth client id for ``oauth`` auth.
    client_id: str | None = None
    #: Share of the tenant's request budget (Anaplan: 600 per minute per tenant).
    requests_per_minute: PositiveInt = 600
    #: Refresh the token this long before it expires (tokens live 35 minutes).
    token_refresh_margin_seconds: NonNegativeSeconds = 300.0
    #: Total time allowed for one HTTP request.
    timeout_seconds: Seconds = 60.0
    #: Overrides of the vault credentials (environment or secret files only).
    password: str | None = None
    private_key: str | None = None
    refresh_token: str | None = None
    client_secret: str | None = None

    def required_secrets(self) -> tuple[str, ...]:
        return {"basic": ("password",), "certificate": ("private_key",)}.get(
            self.auth, ("refresh_token",)
        )

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from _url_problems(self, "auth_url", "api_url", "oauth_url", "cloudworks_url")
        required = {"basic": ("user",), "certificate": ("certificate_file",)}
        yield from _required_for(self, "auth", required.get(self.auth, ("client_id",)))


class WorkdayConnection(Section, frozen=True, kw_only=True):
    """``[connections.workday.<name>]``: one Workday tenant via an integration system user.

    Vault credentials: ``workday.<name>.isu_password`` (WS-Security on SOAP calls), and for REST
    ``workday.<name>.client_secret`` and ``workday.<name>.refresh_token``.
    """

    SECRET_FIELDS = frozenset({"isu_password", "client_secret", "refresh_token"})

    #: Services host; ``/ccx/service/{tenant}/…`` follows it.
    base_url: str
    #: Tenant name as it appears in the service URLs.
    tenant: str
    #: Integration system user; SOAP sends ``{isu_user}@{tenant}``.
    isu_user: str
    #: OAuth client id of the API client for the REST APIs.
    client_id: str | None = None
    #: Total time allowed for one HTTP request.
    timeout_seconds: Seconds = 60.0
    #: Overrides of the vault credentials (environment or secret files only).
    isu_password: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None

    def required_secrets(self) -> tuple[str, ...]:
        return ("isu_password",)

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from _url_problems(self, "base_url")


Connection = EpicorConnection | AnaplanConnection | WorkdayConnection


class Connections(Section, frozen=True, kw_only=True):
    """``[connections.<kind>.<name>]``: every configured system account, by kind and name."""

    epicor: dict[str, EpicorConnection] = {}
    anaplan: dict[str, AnaplanConnection] = {}
    workday: dict[str, WorkdayConnection] = {}

    def items(self) -> Iterator[tuple[str, Connection]]:
        """``("epicor.main", EpicorConnection(...))`` for every connection."""
        tables: dict[str, Mapping[str, Connection]] = {
            "epicor": self.epicor,
            "anaplan": self.anaplan,
            "workday": self.workday,
        }
        for kind, table in tables.items():
            for name, connection in table.items():
                yield f"{kind}.{name}", connection


class ScheduleRule(Section, frozen=True, kw_only=True):
    """One way a flow fires; exactly one of ``cron``, ``business_day_after_period_end``, ``dates``.

    * ``cron = "0 6 * * 1-5"``: a five-field cron expression;
    * ``business_day_after_period_end = 3, at = "07:00"``: the 3rd business day (Monday to Friday,
      minus ``holidays``) after each month end;
    * ``dates = ["2026-01-05"], at = "07:00"``: explicit days.

    Times are wall-clock in ``timezone``. The field names match
    :class:`mlc.schedule.ScheduleRuleSpec`, which turns a rule into fire times.
    """

    cron: str | None = None
    business_day_after_period_end: PositiveInt | None = None
    dates: list[str] = []
    #: ``HH:MM`` for the business-day and date rules.
    at: str | None = None
    #: IANA zone of the rule; :func:`load_config` fills in ``service.timezone`` when omitted.
    timezone: str = ""
    #: ``YYYY-MM-DD`` days that are not business days.
    holidays: list[str] = []

    def problems(self) -> Iterator[tuple[str, str]]:
        kinds = [
            name
            for name, present in (
                ("cron", self.cron is not None),
                ("business_day_after_period_end", self.business_day_after_period_end is not None),
                ("dates", bool(self.dates)),
            )
            if present
        ]
        if len(kinds) != 1:
            yield (
                "",
                (
                    "needs exactly one of cron, business_day_after_period_end, dates"
                    + (f"; got {', '.join(kinds)}" if kinds else "")
                ),
            )
        if self.cron is not None:
            yield from _cron_problems(self.cron)
            if self.at is not None:
                yield "at", "not used with cron (the expression holds the time)"
        elif kinds and self.at is None:
            yield "at", f"required with {kinds[0]}"
        if self.at is not None and not _HH_MM.match(self.at):
            yield "at", f"expected HH:MM (00:00 to 23:59), got {self.at!r}"
        if self.holidays and self.business_day_after_period_end is None:
            yield "holidays", "only used with business_day_after_period_end"
        if self.timezone and not _valid_timezone(self.timezone):
            yield "timezone", f"unknown time zone {self.timezone!r}"
        for field in ("dates", "holidays"):
            for index, text in enumerate(getattr(self, field)):
                if not _is_iso_date(text):
                    yield f"{field}[{index}]", f"expected a date YYYY-MM-DD, got {text!r}"


def _is_iso_date(text: str) -> bool:
    if not _ISO_DATE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _cron_problems(expression: str) -> Iterator[tuple[str, str]]:
    from cronsim import CronSim, CronSimError

    if len(expression.split()) != 5:
        yield "cron", f"expected five fields (minute hour day month weekday), got {expression!r}"
        return
    try:
        CronSim(expression, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    except CronSimError as exc:
        yield "cron", f"invalid cron expression {expression!r}: {exc}"


class FlowConfig(Section, frozen=True, kw_only=True):
    """``[flows.<name>]``: one named movement of data between two connections.

    Flow kinds refine this with their own ``columns`` and ``options``; the generic shape keeps
    every flow loadable while the kinds evolve.
    """

    #: What the flow does: ``coa-align``, ``gl-actuals``, ``ap-spend``, ``budget-to-gl``, …
    kind: str
    #: Connection read from, as ``<kind>.<name>`` (``epicor.main``).
    source: str
    #: Connection written to, as ``<kind>.<name>`` (``anaplan.fpa``).
    target: str
    #: A disabled flow is neither scheduled nor triggered.
    enabled: bool = True
    #: When the flow fires on its own; empty means only on demand (signal or ``mlc trigger``).
    schedule: list[ScheduleRule] = []
    #: Target column (e.g. an Anaplan import's CSV header) -> source field.
    columns: dict[str, str] = {}
    #: Settings specific to the flow kind.
    options: dict[str, OptionValue] = {}


class Config(Section, frozen=True, kw_only=True):
    """The whole configuration."""

    service: ServiceConfig
    supervisor: SupervisorConfig = msgspec.field(default_factory=SupervisorConfig)
    vault: VaultConfig = msgspec.field(default_factory=VaultConfig)
    connections: Connections = msgspec.field(default_factory=Connections)
    flows: dict[str, FlowConfig] = {}

    def connection(self, ref: str) -> Connection:
        """The connection named ``<kind>.<name>``; :class:`KeyError` if there is none."""
        for name, connection in self.connections.items():
            if name == ref:
                return connection
        raise KeyError(ref)

    def required_credentials(self) -> list[str]:
        """Vault names every configured connection needs with its auth mode."""
        return [
            f"{ref}.{field}"
            for ref, connection in self.connections.items()
            for field in connection.required_secrets()
        ]

    def configured_secret(self, credential: str) -> str | None:
        """The value of vault credential ``credential`` supplied by environment or secret file.

        ``epicor.main.password`` is the key path ``connections.epicor.main.password``; a value
        found there overrides the vault (the operator mounted it deliberately).
        """
        ref, _, field = credential.rpartition(".")
        try:
            connection = self.connection(ref)
        except KeyError:
            return None
        if field not in connection.SECRET_FIELDS:
            return None
        value: str | None = getattr(connection, field)
        return value
