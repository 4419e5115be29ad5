"""Typed ``options`` and ``columns`` of the outbound kind ``budget-to-gl``, checked with key paths.

Both shipped outbound flows (``flows.budget-to-gl``, ``flows.forecast-to-gl``) are of kind
``budget-to-gl``; they differ by options: the Anaplan ``version`` they export, the Epicor
``budget_code`` they write, whether they also post a journal. :func:`outbound_spec` reports every
problem at once, one line each, named by key path
(``flows.forecast-to-gl.options.period_from: expected a fiscal period YYYY-PP …``).

``columns`` maps a record field to the export's CSV header it is read from (target field →
source column, as :class:`mlc.config.FlowConfig` documents); omitted fields use the headers of
an Anaplan module export (``Account``, ``Cost Center``, ``Period``, ``Version``, ``Amount``).

Direction rules (:mod:`.rules`) come from ``allowed_versions``, ``period_from``/``period_to`` and
``closed_periods``: they are guards against sending the wrong plan back into the ledger, so a
configured ``version`` outside ``allowed_versions`` is a configuration error, not a silent skip.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from mlc.config import FlowConfig
from mlc.errors import UsageError
from mlc.flows.options import key_path
from mlc.flows.outbound.periods import FiscalPeriod
from mlc.flows.periods import PeriodNaming, pattern_problems

BUDGET_TO_GL = "budget-to-gl"
OUTBOUND_KINDS = (BUDGET_TO_GL,)

Segment = Annotated[int, msgspec.Meta(ge=1, le=20)]
Month = Annotated[int, msgspec.Meta(ge=1, le=12)]
Decimals = Annotated[int, msgspec.Meta(ge=0, le=6)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]
BatchSize = Annotated[int, msgspec.Meta(ge=1, le=5000)]

#: Record fields read from the export, with the header an Anaplan module export gives them.
DEFAULT_COLUMNS: dict[str, str] = {
    "account": "Account",
    "cost_center": "Cost Center",
    "period": "Period",
    "version": "Version",
    "amount": "Amount",
}
#: Fields every export must carry (``version`` may come from the ``version`` option instead).
REQUIRED_COLUMNS = ("account", "cost_center", "period", "amount")


class OutboundOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``flows.<name>.options`` of a ``budget-to-gl`` flow."""

    #: Anaplan version the flow exports (rows without a version column carry it).
    version: str = "Budget"
    #: The Anaplan export action; default ``Export Approved <version>``.
    export_name: str = ""
    #: Versions allowed to flow back into Epicor; empty means only ``version``.
    allowed_versions: list[str] = []
    #: Write budget amounts through ``Erp.BO.AccountBudgetSvc`` (upsert).
    budget: bool = True
    #: Epicor budget code (``BudgetCodeID``) the amounts are written under.
    budget_code: str = "MAIN"
    #: Epicor book of the budgets and journals.
    book: str = "MAIN"
    balance_type: str = "D"
    fiscal_calendar: str = "MAIN"
    fiscal_year_suffix: str = ""
    #: Chart of accounts whose GL accounts and segment values the mapping reads.
    coa: str = "MAIN"
    #: Also post the values as a GL journal group (deltas against what was posted before).
    journal: bool = False
    journal_code: str = "GJ"
    #: GL account (``seg1|seg2|…``) of each journal's balancing line; required with ``journal``.
    journal_offset_account: str = ""
    #: Pattern of the Anaplan time member names, see :mod:`mlc.flows.periods`.
    period_format: str = "{mon} {yy}"
    fiscal_year_start_month: Month = 1
    #: First fiscal period written (``YYYY-PP``), ``current`` for the period containing today,
    #: or empty for no lower bound.
    period_from: str = ""
    #: Last fiscal period written (``YYYY-PP``), or empty for no upper bound.
    period_to: str = ""
    #: Periods closed in Epicor: never written (``YYYY-PP`` each).
    closed_periods: list[str] = []
    #: Write nothing; report what would change.
    dry_run: bool = False
    #: Where the GL account's site segment comes from: ``gl-accounts`` (the one active Epicor GL
    #: account with the natural account and cost center; the mapping table can pin it),
    #: ``mapping`` (only the mapping table), ``fixed`` (the ``site`` option).
    site_rule: Literal["gl-accounts", "mapping", "fixed"] = "gl-accounts"
    #: The site segment value for ``site_rule = "fixed"``.
    site: str = ""
    #: Positions of the natural account, cost center and site in Epicor's ``|``-separated account.
    account_segment: Segment = 1
    cost_center_segment: Segment = 2
    site_segment: Segment = 3
    #: Anaplan lists of the accounts and cost centers (they name the mapping-table kinds).
    accounts_list: str = "Accounts"
    cost_centers_list: str = "Cost Centers"
    #: ``as-exported`` writes Anaplan's numbers as they are; ``credit-negative`` negates those of
    #: natural accounts whose normal balance is credit (revenue planned positive in Anaplan;
    #: Epicor's ``BudgetAmt`` is "credits negative, debits positive").
    sign_convention: Literal["as-exported", "credit-negative"] = "as-exported"
    #: Amounts are rounded half-up to this many decimals before they are compared or written.
    amount_decimals: Decimals = 2
    #: Longest wait for the Anaplan model to become free before the export.
    busy_timeout_seconds: PositiveSeconds = 1800.0
    #: Budget cells per request to the EpicorWriter.
    batch_size: BatchSize = 200
    #: Text encoding of the export file.
    encoding: str = "utf-8"

    @property
    def export(self) -> str:
        return self.export_name or f"Export Approved {self.version}"

    @property
    def versions(self) -> frozenset[str]:
        return frozenset(self.allowed_versions or [self.version])

    def period_naming(self) -> PeriodNaming:
        return PeriodNaming(self.period_format, self.fiscal_year_start_month)


@dataclass(frozen=True)
class OutboundFlowSpec:
    """One outbound flow, checked."""

    name: str
    kind: str
    source: str
    target: str
    options: OutboundOptions
    #: Record field → export header.
    columns: Mapping[str, str]


def is_outbound(flow: FlowConfig) -> bool:
    return flow.kind in OUTBOUND_KINDS


def outbound_specs(
    flows: Mapping[str, FlowConfig], names: Iterable[str] | None = None
) -> dict[str, OutboundFlowSpec]:
    """The outbound flows among ``flows`` (all, or ``names``), checked; one :class:`UsageError`
    lists every problem. Named flows must exist, be outbound and be enabled."""
    specs: dict[str, OutboundFlowSpec] = {}
    problems: list[str] = []
    wanted = list(dict.fromkeys(names)) if names is not None else [
        name for name, flow in flows.items() if is_outbound(flow)
    ]
    for name in wanted:
        flow = flows.get(name)
        if flow is None:
            known = ", ".join(sorted(flows)) or "none"
            problems.append(f"{key_path('flows', name)}: no such flow (configured: {known})")
        elif not is_outbound(flow):
            problems.append(f"{key_path('flows', name, 'kind')}: {flow.kind!r} is not outbound")
        elif names is not None and not flow.enabled:
            problems.append(f"{key_path('flows', name, 'enabled')}: the flow is disabled")
        else:
            try:
                specs[name] = outbound_spec(name, flow)
            except UsageError as exc:
                problems.append(str(exc))
    if problems:
        raise UsageError("\n".join(problems))
    return specs


def outbound_spec(name: str, flow: FlowConfig) -> OutboundFlowSpec:
    """Check ``flows.<name>`` of kind ``budget-to-gl``; :class:`UsageError` lists every problem."""
    if flow.kind not in OUTBOUND_KINDS:
        raise UsageError(
            f"{key_path('flows', name, 'kind')}: {flow.kind!r} is not an outbound kind "
            f"({', '.join(OUTBOUND_KINDS)})"
        )
    problems: list[str] = []
    if not flow.source.startswith("anaplan."):
        problems.append(
            f"{key_path('flows', name, 'source')}: {flow.kind} reads an Anaplan connection, "
            f"got {flow.source!r}"
        )
    if not flow.target.startswith("epicor."):
        problems.append(
            f"{key_path('flows', name, 'target')}: {flow.kind} writes an Epicor connection, "
            f"got {flow.target!r}"
        )
    options = _options(name, flow.options, problems)
    columns = _columns(name, flow.columns, problems)
    if problems:
        raise UsageError("\n".join(problems))
    assert options is not None
    return OutboundFlowSpec(name, flow.kind, flow.source, flow.target, options, columns)


def _options(name: str, raw: Mapping[str, Any], problems: list[str]) -> OutboundOptions | None:
    fields = {f.encode_name: f for f in msgspec.structs.fields(OutboundOptions)}
    before = len(problems)

    def where(key: str) -> str:
        return key_path("flows", name, "options", key)

    for key, value in raw.items():
        field = fields.get(key)
        if field is None:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{where(key)}: unknown option{hint}")
            continue
        try:
            msgspec.convert(value, field.type, strict=True)
        except msgspec.ValidationError as exc:
            detail = str(exc).split(" - at ", 1)[0].replace("`", "")
            problems.append(f"{where(key)}: {detail[:1].lower()}{detail[1:]}")
    if len(problems) > before:
        return None
    options = msgspec.convert(dict(raw), OutboundOptions)
    problems.extend(
        f"{where('period_format')}: {text}" for text in pattern_problems(options.period_format)
    )
    for key in ("period_from", "period_to"):
        text = getattr(options, key)
        if text and not (key == "period_from" and text == "current"):
            try:
                FiscalPeriod.parse(text)
            except ValueError as exc:
                problems.append(f"{where(key)}: {exc}")
    if (
        options.period_from not in ("", "current")
        and options.period_to
        and len(problems) == before
        and FiscalPeriod.parse(options.period_from) > FiscalPeriod.parse(options.period_to)
    ):
        problems.append(f"{where('period_to')}: {options.period_to} is before period_from")
    for index, text in enumerate(options.closed_periods):
        try:
            FiscalPeriod.parse(text)
        except ValueError as exc:
            problems.append(f"{where('closed_periods')}[{index}]: {exc}")
    if options.version not in options.versions:
        allowed = ", ".join(sorted(options.versions))
        problems.append(
            f"{where('version')}: {options.version!r} may not flow back into Epicor "
            f"(allowed_versions: {allowed})"
        )
    if not options.budget and not options.journal:
        problems.append(f"{where('budget')}: the flow writes nothing: enable budget or journal")
    if options.journal and not options.journal_offset_account:
        problems.append(
            f"{where('journal_offset_account')}: required when journal = true (the GL account "
            "of each journal's balancing line, e.g. '3100|11|00')"
        )
    if options.site_rule == "fixed" and not options.site:
        problems.append(f"{where('site')}: required when site_rule = 'fixed'")
    positions = (options.account_segment, options.cost_center_segment, options.site_segment)
    if len(set(positions)) != len(positions):
        problems.append(
            f"{where('site_segment')}: account_segment, cost_center_segment and site_segment "
            f"must differ, got {positions}"
        )
    problems.extend(
        f"{where(key)}: must not be empty"
        for key in ("version", "budget_code", "book", "coa")
        if not getattr(options, key).strip()
    )
    try:
        "".encode(options.encoding)
    except LookupError:
        problems.append(f"{where('encoding')}: unknown text encoding {options.encoding!r}")
    return options if len(problems) == before else None


def _columns(name: str, raw: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    for field in raw:
        if field not in DEFAULT_COLUMNS:
            close = difflib.get_close_matches(field, list(DEFAULT_COLUMNS), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(
                f"{key_path('flows', name, 'columns', field)}: unknown record field{hint}; "
                f"known: {', '.join(DEFAULT_COLUMNS)}"
            )
    headers = {**DEFAULT_COLUMNS, **raw}
    seen: dict[str, str] = {}
    for field, header in headers.items():
        if not header.strip():
            problems.append(f"{key_path('flows', name, 'columns', field)}: empty header name")
        elif header in seen:
            problems.append(
                f"{key_path('flows', name, 'columns', field)}: header {header!r} is also "
                f"used for {seen[header]!r}"
            )
        seen.setdefault(header, field)
    return headers
