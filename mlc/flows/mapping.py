"""Mapping summed cells to target rows, and quarantining the cells that cannot be mapped.

An Epicor code maps to an Anaplan member code through the store's mapping table (overrides written
by ``coa-align`` or an operator, per target list) or, without an override, to itself. Either way the
result must be a member of the Anaplan list *now*: a value is never sent to a code missing on the
target. A cell whose account or cost center has no member is **quarantined** with its reason, its
missing code(s) and its source cell (the payload a later run retries it from once the member
exists); it is never uploaded.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import msgspec

from mlc.flows.options import InboundFlowSpec, ValueFlowOptions
from mlc.flows.periods import PeriodError, PeriodNaming
from mlc.flows.records import content_hash, format_amount
from mlc.messages import MappedRow, QuarantinedRow, SourceCell

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(SourceCell)


def mapping_kind(target: str, list_name: str) -> str:
    """The store's mapping-table kind for one target list: ``anaplan.fpa:Accounts``."""
    return f"{target}:{list_name}"


def encode_cell(cell: SourceCell) -> bytes:
    return _ENCODER.encode(cell)


def decode_cell(payload: bytes) -> SourceCell:
    return _DECODER.decode(payload)


@dataclass(frozen=True)
class CodeMap:
    """Epicor codes → members of one Anaplan list."""

    list_name: str
    members: frozenset[str]
    overrides: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, code: str) -> str | None:
        target = self.overrides.get(code, code)
        return target if target in self.members else None

    @classmethod
    def build(
        cls, list_name: str, members: Collection[str], overrides: Mapping[str, str]
    ) -> CodeMap:
        return cls(list_name, frozenset(members), dict(overrides))


def _source_hash(cell: SourceCell) -> str:
    return content_hash(
        [
            cell.scope,
            cell.account,
            cell.cost_center,
            str(cell.fiscal_year),
            str(cell.fiscal_period),
            format_amount(cell.amount),
            str(cell.rows),
            str(cell.documents),
        ]
    )


@dataclass(frozen=True)
class CellMapper:
    """Maps cells of one value flow (``gl-actuals``, ``ap-spend``) to its CSV columns."""

    spec: InboundFlowSpec
    accounts: CodeMap
    cost_centers: CodeMap

    @property
    def options(self) -> ValueFlowOptions:
        options = self.spec.options
        assert isinstance(options, ValueFlowOptions)
        return options

    @property
    def naming(self) -> PeriodNaming:
        return self.options.period_naming()

    def map(self, cell: SourceCell) -> MappedRow | QuarantinedRow:
        account = self.accounts.resolve(cell.account)
        cost_center = self.cost_centers.resolve(cell.cost_center)
        problems: list[tuple[str, str]] = []
        if account is None:
            problems.append(
                (
                    cell.account,
                    (
                        f"no member in Anaplan list {self.accounts.list_name!r} for Epicor "
                        f"account {cell.account!r}"
                    ),
                )
            )
        if cost_center is None:
            problems.append(
                (
                    cell.cost_center,
                    (
                        f"no member in Anaplan list {self.cost_centers.list_name!r} for Epicor "
                        f"cost center {cell.cost_center!r}"
                    ),
                )
            )
        period = ""
        try:
            period = self.naming.name(cell.fiscal_year, cell.fiscal_period)
        except PeriodError as exc:
            problems.append((f"{cell.fiscal_year}/{cell.fiscal_period}", str(exc)))
        if problems:
            return QuarantinedRow(
                key=cell.key,
                reason="; ".join(reason for _, reason in problems),
                missing_code=", ".join(code for code, _ in problems),
                content_hash=_source_hash(cell),
                payload=encode_cell(cell),
            )
        assert account is not None and cost_center is not None
        record = {
            "account": account,
            "cost_center": cost_center,
            "period": period,
            "version": self.options.version,
            "amount": format_amount(cell.amount),
            "rows": str(cell.rows),
            "invoice_count": str(cell.documents),
        }
        values = tuple(record[name] for name in self.spec.fields)
        return MappedRow(key=cell.key, values=values, content_hash=content_hash(values))
