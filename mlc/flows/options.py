"""Typed ``options`` and ``columns`` of the inbound flow kinds, validated with key paths.

:class:`mlc.config.FlowConfig` keeps ``options`` and ``columns`` generic so that every flow kind
loads; this module gives the inbound kinds (``coa-align``, ``gl-actuals``, ``ap-spend``) their
shape. :func:`inbound_spec` checks one flow and reports every problem at once, each on its own line
and named by its key path (``flows.gl-actuals.options.period_format: unknown placeholder {mont}``),
so an operator can fix a config in one go.

``columns`` maps the target's CSV column header (the Anaplan import's ``headerNames``) to a field
of the record the flow builds; the fields of each kind are listed in :data:`RECORD_FIELDS`. Which
Epicor columns feed those fields is set by options (``account_segment``, ``cost_center_segment``:
positions in Epicor's ``|``-separated GL account string), because the chart decides it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from mlc.config import FlowConfig
from mlc.errors import UsageError
from mlc.flows.periods import PeriodNaming, pattern_problems

Segment = Annotated[int, msgspec.Meta(ge=1, le=20)]
Month = Annotated[int, msgspec.Meta(ge=1, le=12)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]
ChunkMegabytes = Annotated[int, msgspec.Meta(ge=1, le=50)]
Year = Annotated[int, msgspec.Meta(ge=1900, le=9999)]

COA_ALIGN = "coa-align"
GL_ACTUALS = "gl-actuals"
AP_SPEND = "ap-spend"
INBOUND_KINDS = (COA_ALIGN, GL_ACTUALS, AP_SPEND)

#: Record fields a ``columns`` entry may name, per flow kind.
RECORD_FIELDS: dict[str, dict[str, str]] = {
    COA_ALIGN: {
        "code": "the Epicor segment value (account or cost-center code)",
        "name": "its description (SegmentName)",
        "category": "the natural account's category (Asset, Expense, …); empty for cost centers",
        "normal_balance": "D or C for natural accounts; empty for cost centers",
    },
    GL_ACTUALS: {
        "account": "Anaplan account member code (mapped from the natural-account segment)",
        "cost_center": "Anaplan cost-center member code (mapped from the cost-center segment)",
        "period": "Anaplan time member name (period_format)",
        "version": "the version option (Actual)",
        "amount": "sum of BalanceAmt over the cell's Epicor rows (sign per sign_convention)",
        "rows": "number of Epicor rows summed into the cell",
    },
    AP_SPEND: {
        "account": "Anaplan account member code (mapped from the line's GL account)",
        "cost_center": "Anaplan cost-center member code (mapped from the line's GL account)",
        "period": "Anaplan time member name of the invoice's fiscal period (period_format)",
        "version": "the version option (Actual)",
        "amount": "sum of the lines' ExtCost (book currency)",
        "invoice_count": "number of distinct invoices with a line in the cell",
        "rows": "number of invoice lines summed into the cell",
    },
}

#: Fields every flow of the kind must send to its target.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    COA_ALIGN: ("code", "name"),
    GL_ACTUALS: ("account", "cost_center", "period", "amount"),
    AP_SPEND: ("account", "cost_center", "period", "amount"),
}


class FlowOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Options every inbound flow has."""

    #: Anaplan list holding the natural accounts.
    accounts_list: str = "Accounts"
    #: Anaplan list holding the cost centers.
    cost_centers_list: str = "Cost Centers"
    #: Position of the natural account in Epicor's ``|``-separated GL account (SegValueN).
    account_segment: Segment = 1
    #: Position of the cost center in Epicor's GL account.
    cost_center_segment: Segment = 2
    #: Longest wait for the Anaplan model to become free (another user's task, a CloudWorks run)
    #: before the run gives up with nothing uploaded.
    busy_timeout_seconds: PositiveSeconds = 1800.0


class CoaAlignOptions(FlowOptions, frozen=True, kw_only=True):
    """``coa-align``: Epicor chart segment values ⇄ Anaplan lists."""

    #: ``add``: add the members missing in Anaplan through the list imports; ``report``: only
    #: list them in the run's audit (status ``missing``).
    mode: Literal["add", "report"] = "add"
    #: Epicor chart of accounts whose segment values are aligned.
    coa: str = "MAIN"
    #: HIERARCHY_DATA import adding accounts to ``accounts_list``.
    accounts_import: str = "Load Accounts"
    #: HIERARCHY_DATA import adding cost centers to ``cost_centers_list``.
    cost_centers_import: str = "Load Cost Centers"
    #: Also add segment values Epicor marks inactive.
    include_inactive: bool = False
    #: Epicor account category → Anaplan parent member code, as ``"EXPENSE=Expense"`` entries;
    #: a category not listed is sent as it is.
    category_map: list[str] = []

    def categories(self) -> dict[str, str]:
        pairs = (entry.split("=", 1) for entry in self.category_map)
        return {source.strip(): target.strip() for source, target in pairs}


class ValueFlowOptions(FlowOptions, frozen=True, kw_only=True):
    """Options of the flows that load values into an Anaplan module."""

    #: MODULE_DATA import the rows are loaded through.
    import_name: str
    #: Anaplan version written (the ``version`` record field).
    version: str = "Actual"
    #: Pattern of Anaplan time member names, see :mod:`mlc.flows.periods`.
    period_format: str = "{mon} {yy}"
    #: Calendar month of fiscal period 1.
    fiscal_year_start_month: Month = 1
    #: Oldest fiscal year a full load reads; all years when omitted.
    from_fiscal_year: Year | None = None
    #: Skip cells whose content is unchanged since they were last loaded (content hash), even
    #: when the source's modification marker moved.
    skip_unchanged: bool = True
    #: Upload chunk size before compression (Anaplan accepts 1 to 50 MB).
    chunk_megabytes: ChunkMegabytes = 50

    def period_naming(self) -> PeriodNaming:
        return PeriodNaming(self.period_format, self.fiscal_year_start_month)


class GlActualsOptions(ValueFlowOptions, frozen=True, kw_only=True):
    """``gl-actuals``: Epicor GL period balances → an Anaplan module."""

    import_name: str = "Load GL Actuals"
    #: Epicor book whose balances are loaded.
    book: str = "MAIN"
    #: ``D`` detail balances (the default), ``S`` summary, ``B`` both as Epicor stores them.
    balance_type: str = "D"
    #: ``as-booked`` loads Epicor's ledger sign (``BalanceAmt`` = debit - credit: revenue,
    #: liabilities and equity negative); ``credit-positive`` negates the natural accounts whose
    #: normal balance is credit, so they arrive positive, as FP&A models plan them. See
    #: :mod:`mlc.flows.gl_actuals`.
    sign_convention: Literal["as-booked", "credit-positive"] = "as-booked"
    #: Chart of accounts whose natural-account values (``COASegValues.NormalBalance``) tell which
    #: accounts ``credit-positive`` negates.
    coa: str = "MAIN"


class ApSpendOptions(ValueFlowOptions, frozen=True, kw_only=True):
    """``ap-spend``: Epicor AP invoice lines, summed by account, cost center and period."""

    import_name: str = "Load AP Spend"
    #: Only posted invoices count as spend.
    posted_only: bool = True


InboundOptions = CoaAlignOptions | GlActualsOptions | ApSpendOptions
_OPTION_TYPES: dict[str, type[InboundOptions]] = {
    COA_ALIGN: CoaAlignOptions,
    GL_ACTUALS: GlActualsOptions,
    AP_SPEND: ApSpendOptions,
}


@dataclass(frozen=True)
class InboundFlowSpec:
    """One inbound flow, checked: its config, typed options and ordered columns."""

    name: str
    kind: str
    source: str
    target: str
    options: InboundOptions
    #: ``(CSV header, record field)`` in the order the CSV is written.
    columns: tuple[tuple[str, str], ...]

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(header for header, _ in self.columns)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for _, field in self.columns)


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def key_path(*parts: str) -> str:
    """``flows.gl-actuals.columns."Cost Center"`` (TOML quoting for keys that need it)."""
    return ".".join(part if _BARE.match(part) else f'"{part}"' for part in parts)


def is_inbound(flow: FlowConfig) -> bool:
    return flow.kind in INBOUND_KINDS


def inbound_spec(name: str, flow: FlowConfig) -> InboundFlowSpec:
    """Check ``flows.<name>`` of an inbound kind; :class:`UsageError` lists every problem."""
    problems: list[str] = []
    option_type = _OPTION_TYPES.get(flow.kind)
    if option_type is None:
        kinds = ", ".join(INBOUND_KINDS)
        raise UsageError(
            f"{key_path('flows', name, 'kind')}: {flow.kind!r} is not an inbound kind ({kinds})"
        )
    if not flow.source.startswith("epicor."):
        problems.append(
            f"{key_path('flows', name, 'source')}: {flow.kind} reads an Epicor connection, "
            f"got {flow.source!r}"
        )
    if not flow.target.startswith("anaplan."):
        problems.append(
            f"{key_path('flows', name, 'target')}: {flow.kind} writes an Anaplan connection, "
            f"got {flow.target!r}"
        )
    options = _options(name, option_type, flow.options, problems)
    columns = _columns(name, flow.kind, flow.columns, problems)
    if problems:
        raise UsageError("\n".join(problems))
    assert options is not None
    return InboundFlowSpec(name, flow.kind, flow.source, flow.target, options, columns)


def _options(
    name: str,
    option_type: type[InboundOptions],
    raw: Mapping[str, Any],
    problems: list[str],
) -> InboundOptions | None:
    fields = {f.encode_name: f for f in msgspec.structs.fields(option_type)}
    before = len(problems)
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{key_path('flows', name, 'options', key)}: unknown option{hint}")
    for key, value in raw.items():
        if key not in fields:
            continue
        try:
            msgspec.convert(value, fields[key].type, strict=True)
        except msgspec.ValidationError as exc:
            detail = str(exc).split(" - at ", 1)[0].replace("`", "")
            problems.append(f"{key_path('flows', name, 'options', key)}: {_lower_first(detail)}")
            continue
        if key == "category_map" and isinstance(value, list):
            where = key_path("flows", name, "options", key)
            problems.extend(
                f"{where}[{index}]: expected 'EPICOR=ANAPLAN', got {entry!r}"
                for index, entry in enumerate(value)
                if not isinstance(entry, str)
                or not all(p.strip() for p in entry.partition("=")[::2])
                or "=" not in entry
            )
        if key == "period_format" and isinstance(value, str):
            where = key_path("flows", name, "options", key)
            problems.extend(f"{where}: {problem}" for problem in pattern_problems(value))
    if len(problems) > before:
        return None
    options = msgspec.convert(dict(raw), option_type)
    if options.account_segment == options.cost_center_segment:
        problems.append(
            f"{key_path('flows', name, 'options', 'cost_center_segment')}: must differ from "
            f"account_segment ({options.account_segment})"
        )
    return options if len(problems) == before else None


def _columns(
    name: str, kind: str, raw: Mapping[str, str], problems: list[str]
) -> tuple[tuple[str, str], ...]:
    known = RECORD_FIELDS[kind]
    for header, field in raw.items():
        if not header.strip():
            problems.append(f"{key_path('flows', name, 'columns', header)}: empty column header")
        if field not in known:
            close = difflib.get_close_matches(field, list(known), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                f"{key_path('flows', name, 'columns', header)}: unknown record field {field!r} "
                f"({hint}{kind} fields: {', '.join(known)})"
            )
    mapped = set(raw.values())
    problems.extend(
        f"{key_path('flows', name, 'columns')}: no column takes {field!r} "
        f"({known[field]}); add e.g. {field.replace('_', ' ').title()!r} = {field!r}"
        for field in REQUIRED_FIELDS[kind]
        if field not in mapped
    )
    return tuple(raw.items())


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text
