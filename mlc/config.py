"""The connector's configuration: ``config.toml`` decoded into msgspec Structs.

Four layers, each overriding the one before it:

1. the defaults declared on the Structs below;
2. the TOML file given to :func:`load_config`;
3. environment variables ``MLC_<KEY>__<KEY>…``: ``MLC_`` then the key path with ``__`` between
   levels, matched case-insensitively (``MLC_SERVICE__HTTP_PORT=9090``,
   ``MLC_CONNECTIONS__EPICOR__MAIN__COMPANY=EPIC07``, ``MLC_FLOWS__GL_ACTUALS__ENABLED=false``; in
   connection and flow names ``_`` also matches ``-``). Only variables with a ``__`` are overrides,
   so ``MLC_VAULT_KEY``, ``MLC_SECRETS_DIR`` and ``MLC_CONFIG`` are not;
4. mounted secret files: every file in ``service.secrets_dir`` (or ``$MLC_SECRETS_DIR``, which
   wins) is named by a dotted key path (``connections.epicor.main.api_key``) and its content,
   trailing newlines stripped, replaces that key. Hidden entries (Kubernetes' ``..data``) are
   skipped. This is how a Kubernetes Secret volume maps onto the config without ``subPath``.

Text from layers 3 and 4 is decoded to the type of the field it lands on: string fields take it
verbatim, other fields read it as a TOML value (``9090``, ``0.5``, ``true``, ``["a", "b"]``).

Validation reports every problem at once, each naming the source (file, environment variable or
secret file) and the key path: ``config.toml: connections.anaplan.fpa.workspace: expected str, got
int``. msgspec stops at the first error, so the raw TOML is first walked against the Struct types
(:class:`_Validator`), then semantic checks run per section (:meth:`Section.problems`) and across
sections (flow → connection references); only a clean tree is decoded with msgspec.

Secrets (passwords, API keys, client secrets, private keys, refresh tokens) never belong in the
TOML file: they live in the vault under ``<kind>.<name>.<field>`` (``epicor.main.password``), which
is also their key path under ``connections``, so a mounted secret file or an environment variable
can supply one instead (see :meth:`Config.configured_secret`). Every such value is registered with
:func:`mlc.logs.register_secret` when the config loads.

Relative paths (``state_dir``, ``pid_file``, ``secrets_dir``, ``key_file``, ``certificate_file``)
are resolved against the directory of the config file, so ``mlc run --config /etc/mlc/config.toml``
means the same wherever it is started from.
"""

from __future__ import annotations

import datetime as dt
import difflib
import operator
import os
import re
import tomllib
import zoneinfo
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, cast

import msgspec
import msgspec.inspect as mi

from mlc.errors import UsageError
from mlc.logs import register_secret

ENV_PREFIX = "MLC_"
SECRETS_DIR_ENV = "MLC_SECRETS_DIR"

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeSeconds = Annotated[float, msgspec.Meta(ge=0)]
OptionValue = str | int | float | bool | list[str]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONNECTION_KINDS = ("epicor", "anaplan", "workday")


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


_ROOT = mi.type_info(Config)
_Path = tuple[str | int, ...]


def _show(path: _Path) -> str:
    """``connections.epicor.main.base_url``, ``flows.x.schedule[0]``; odd keys TOML-quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            shown = part if _BARE_KEY.match(part) else f'"{part}"'
            out += f".{shown}" if out else shown
    return out


def _value_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dt.datetime):
        return "datetime"
    return type(value).__name__


def _expected(t: mi.Type) -> str:
    if isinstance(t, mi.StructType | mi.DictType):
        return "table"
    if isinstance(t, mi.ListType):
        return f"array of {_expected(t.item_type)}"
    if isinstance(t, mi.LiteralType):
        return "one of " + ", ".join(repr(v) for v in t.values)
    if isinstance(t, mi.UnionType):
        return " or ".join(_expected(m) for m in t.types if not isinstance(m, mi.NoneType))
    return {
        mi.StrType: "str",
        mi.IntType: "int",
        mi.FloatType: "float",
        mi.BoolType: "bool",
    }.get(type(t), type(t).__name__)


_COMPARISONS = (
    ("ge", ">=", operator.ge),
    ("gt", ">", operator.gt),
    ("le", "<=", operator.le),
    ("lt", "<", operator.lt),
)


def _bounds(t: mi.IntType | mi.FloatType, value: float) -> str | None:
    for attribute, symbol, holds in _COMPARISONS:
        bound = getattr(t, attribute)
        if bound is not None and not holds(value, bound):
            return f"must be {symbol} {bound}, got {value}"
    return None


def _non_null(t: mi.Type) -> mi.Type:
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(members) == 1:
            return members[0]
    return t


def _takes_str(t: mi.Type) -> bool:
    t = _non_null(t)
    if isinstance(t, mi.StrType):
        return True
    if isinstance(t, mi.LiteralType):
        return all(isinstance(v, str) for v in t.values)
    if isinstance(t, mi.UnionType):
        return any(_takes_str(m) for m in t.types)
    return False


class _Validator:
    """Walks raw TOML data against the Struct types and collects every error with its source."""

    def __init__(self, label: str, origins: dict[_Path, str], file_paths: set[_Path]) -> None:
        self.label = label
        self.origins = origins
        self.file_paths = file_paths
        self.errors: list[str] = []

    def source(self, path: _Path) -> str:
        for end in range(len(path), 0, -1):
            if path[:end] in self.origins:
                return self.origins[path[:end]]
        return self.label

    def error(self, path: _Path, message: str) -> None:
        self.errors.append(f"{self.source(path)}: {_show(path) or '(top level)'}: {message}")

    def check(self, value: Any, t: mi.Type, path: _Path) -> bool:
        """Record the errors of ``value`` at ``path``; True if it had none."""
        before = len(self.errors)
        self._check(value, t, path)
        return len(self.errors) == before

    def _check(self, value: Any, t: mi.Type, path: _Path) -> None:
        if isinstance(t, mi.StructType):
            self._struct(value, t, path)
        elif isinstance(t, mi.DictType):
            if not isinstance(value, dict):
                self.error(path, f"expected table, got {_value_type(value)}")
                return
            for key, item in value.items():
                self.check(item, t.value_type, (*path, key))
        elif isinstance(t, mi.ListType):
            if not isinstance(value, list):
                self.error(path, f"expected {_expected(t)}, got {_value_type(value)}")
                return
            for index, item in enumerate(value):
                self.check(item, t.item_type, (*path, index))
        elif isinstance(t, mi.UnionType):
            self._union(value, t, path)
        else:
            problem = self._scalar(value, t)
            if problem:
                self.error(path, problem)

    def _union(self, value: Any, t: mi.UnionType, path: _Path) -> None:
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(members) == 1:
            self._check(value, members[0], path)
            return
        probe = _Validator(self.label, {}, set())
        if not any(probe.check(value, member, path) for member in members):
            self.error(path, f"expected {_expected(t)}, got {_value_type(value)}")

    @staticmethod
    def _scalar(value: Any, t: mi.Type) -> str | None:
        got = _value_type(value)
        if isinstance(t, mi.LiteralType):
            if not any(type(value) is type(v) and value == v for v in t.values):
                shown = repr(value) if isinstance(value, str | int) else got
                return f"expected {_expected(t)}, got {shown}"
        elif isinstance(t, mi.StrType):
            if not isinstance(value, str):
                return f"expected str, got {got}"
        elif isinstance(t, mi.BoolType):
            if not isinstance(value, bool):
                return f"expected bool, got {got}"
        elif isinstance(t, mi.IntType):
            if isinstance(value, bool) or not isinstance(value, int):
                return f"expected int, got {got}"
            return _bounds(t, value)
        elif isinstance(t, mi.FloatType):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"expected float, got {got}"
            return _bounds(t, value)
        return None

    def _struct(self, value: Any, t: mi.StructType, path: _Path) -> None:
        if not isinstance(value, dict):
            self.error(path, f"expected table, got {_value_type(value)}")
            return
        before = len(self.errors)
        cls = cast(type[Section], t.cls)
        fields = {f.encode_name: f for f in t.fields}
        for key in value:
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]}?)" if close else ""
                self.error((*path, key), f"unknown key{hint}")
        for key, field in fields.items():
            here = (*path, key)
            if key in value:
                self.check(value[key], field.type, here)
                if field.name in cls.SECRET_FIELDS and here in self.file_paths:
                    self.errors.append(
                        f"{self.label}: {_show(here)}: secrets do not belong in the config file; "
                        f"store it with `mlc creds set {_show(here[1:])}` or mount a secret file"
                    )
            elif field.required:
                self.error(here, "missing required key")
        if len(self.errors) == before:
            self._semantics(value, cls, path)

    def _semantics(self, value: dict[str, Any], cls: type[Section], path: _Path) -> None:
        try:
            section = msgspec.convert(value, cls)
        except msgspec.ValidationError:
            return
        for field, message in section.problems():
            here: _Path = path
            if field:
                match = re.fullmatch(r"(\w+)\[(\d+)\]", field)
                here = (*path, match[1], int(match[2])) if match else (*path, field)
            self.error(here, message)


def _paths(value: Any, prefix: _Path = ()) -> Iterator[_Path]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))


def _same_name(a: str, b: str) -> bool:
    return a.lower().replace("-", "_") == b.lower().replace("-", "_")


class _Layering:
    """Applies environment and secret-file overrides to the raw TOML tree, typed by the schema."""

    def __init__(self, label: str, raw: dict[str, Any], origins: dict[_Path, str]) -> None:
        self.label = label
        self.raw = raw
        self.origins = origins
        self.errors: list[str] = []

    def assign(self, keys: list[str], text: str, source: str) -> None:
        t: mi.Type = _ROOT
        node = self.raw
        path: _Path = ()
        for position, key in enumerate(keys):
            t = _non_null(t)
            if isinstance(t, mi.StructType):
                names = [f.encode_name for f in t.fields]
                found = next((n for n in names if n == key), None) or next(
                    (n for n in names if n == key.lower()), None
                )
                if found is None:
                    close = difflib.get_close_matches(key.lower(), names, n=1, cutoff=0.6)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    self.errors.append(f"{source}: {_show((*path, key))}: unknown key{hint}")
                    return
                child = next(f.type for f in t.fields if f.encode_name == found)
            elif isinstance(t, mi.DictType):
                found = key if key in node else next((k for k in node if _same_name(k, key)), key)
                child = t.value_type
            else:
                raise AssertionError(f"unexpected container type {t!r}")
            path = (*path, found)
            if position < len(keys) - 1 and not isinstance(
                _non_null(child), mi.StructType | mi.DictType
            ):
                self.errors.append(
                    f"{source}: {_show(path)}: expected {_expected(child)}, not a table"
                )
                return
            if position == len(keys) - 1:
                node[found] = _decode_text(text, child)
                self.origins[path] = source
                return
            if not isinstance(node.get(found), dict):
                node[found] = {}
                self.origins[path] = source
            node = node[found]
            t = child

    def environment(self, environ: Mapping[str, str]) -> None:
        for name in sorted(environ):
            rest = name[len(ENV_PREFIX) :]
            if not name.startswith(ENV_PREFIX) or "__" not in rest:
                continue
            keys = rest.lower().split("__")
            source = f"environment variable {name}"
            if not all(keys):
                self.errors.append(f"{source}: empty key between '__' separators")
                continue
            self.assign(keys, environ[name], source)

    def secret_files(self, directory: Path) -> None:
        try:
            entries = sorted(directory.iterdir())
        except OSError as exc:
            source = self.origins.get(("service", "secrets_dir"), self.label)
            problem = exc.strerror or str(exc)
            self.errors.append(f"{source}: service.secrets_dir: {directory}: {problem}")
            return
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            source = f"secret file {entry}"
            try:
                text = entry.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.errors.append(f"{source}: cannot read: {exc}")
                continue
            keys = entry.name.split(".")
            if not all(keys):
                self.errors.append(f"{source}: the file name is not a dotted key path")
                continue
            self.assign(keys, text.rstrip("\r\n"), source)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _decode_text(text: str, t: mi.Type) -> Any:
    """Text from the environment or a secret file as a value of type ``t``."""
    target = _non_null(t)
    if isinstance(target, mi.StrType | mi.LiteralType) and _takes_str(target):
        return text
    if isinstance(target, mi.BoolType) and text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    if _takes_str(target) and not _Validator("", {}, set()).check(value, target, ()):
        return text
    return value


def _cross_check(raw: dict[str, Any], v: _Validator) -> None:
    """Checks spanning sections: names usable in key paths, flows pointing at connections."""
    refs: set[str] = set()
    connections = raw.get("connections")
    if isinstance(connections, dict):
        for kind in _CONNECTION_KINDS:
            table = connections.get(kind)
            if isinstance(table, dict):
                for name in table:
                    if _NAME.match(name):
                        refs.add(f"{kind}.{name}")
                    else:
                        v.error(("connections", kind, name), "names use letters, digits, - and _")
    flows = raw.get("flows")
    if not isinstance(flows, dict):
        return
    known = ", ".join(sorted(refs)) or "none"
    for name, flow in flows.items():
        if not _NAME.match(name):
            v.error(("flows", name), "names use letters, digits, - and _")
        if not isinstance(flow, dict):
            continue
        for role in ("source", "target"):
            ref = flow.get(role)
            if isinstance(ref, str) and ref not in refs:
                v.error(("flows", name, role), f"no connection {ref!r} (configured: {known})")
        if isinstance(flow.get("source"), str) and flow.get("source") == flow.get("target"):
            v.error(("flows", name, "target"), "must differ from source")


def _absolute(section: Any, base: Path) -> Any:
    """``section`` with every relative path field resolved against ``base``."""
    if isinstance(section, dict):
        return {key: _absolute(item, base) for key, item in section.items()}
    if isinstance(section, list):
        return [_absolute(item, base) for item in section]
    if not isinstance(section, Section):
        return section
    changes: dict[str, Any] = {}
    for name in section.__struct_fields__:
        value = getattr(section, name)
        if name in section.PATH_FIELDS and isinstance(value, str):
            changes[name] = str(base / Path(value).expanduser())
        elif isinstance(value, Section | dict | list):
            changes[name] = _absolute(value, base)
    return msgspec.structs.replace(section, **changes)


def _register_secrets(section: Any) -> None:
    if isinstance(section, dict | list):
        for item in section.values() if isinstance(section, dict) else section:
            _register_secrets(item)
    elif isinstance(section, Section):
        for name in section.__struct_fields__:
            value = getattr(section, name)
            if name in section.SECRET_FIELDS and isinstance(value, str):
                register_secret(value)
            else:
                _register_secrets(value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``path`` with its overrides; :class:`ConfigError` lists every problem."""
    environ = os.environ if environ is None else environ
    label = str(path)
    raw = _read_toml(path)
    file_paths = set(_paths(raw))
    origins: dict[_Path, str] = {}
    layers = _Layering(label, raw, origins)
    layers.environment(environ)
    base = path.absolute().parent
    if environ.get(SECRETS_DIR_ENV):
        source = f"environment variable {SECRETS_DIR_ENV}"
        layers.assign(["service", "secrets_dir"], environ[SECRETS_DIR_ENV], source)
    service = raw.get("service")
    secrets_dir = service.get("secrets_dir") if isinstance(service, dict) else None
    if isinstance(secrets_dir, str):
        layers.secret_files(base / Path(secrets_dir).expanduser())
    validator = _Validator(label, origins, file_paths)
    validator.errors.extend(layers.errors)
    validator.check(raw, _ROOT, ())
    _cross_check(raw, validator)
    if validator.errors:
        raise ConfigError(validator.errors)
    try:
        config = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError([f"{label}: {exc}"]) from None
    _register_secrets(config)
    resolved: Config = _absolute(config, base)
    return _default_timezones(resolved)


def _default_timezones(config: Config) -> Config:
    zone = config.service.timezone
    flows = {
        name: msgspec.structs.replace(
            flow,
            schedule=[
                rule if rule.timezone else msgspec.structs.replace(rule, timezone=zone)
                for rule in flow.schedule
            ],
        )
        for name, flow in config.flows.items()
    }
    return msgspec.structs.replace(config, flows=flows)
