"""Direction rules: which exported values may flow back into the ledger at all.

Three guards, all from the flow's options, applied to every row before anything is mapped:

* **versions** — only ``allowed_versions`` (default: the flow's ``version``) may flow back, and a
  flow writes its own ``version`` only; a row of another version (an export that also carries
  ``Actual``) is skipped, never written;
* **period window** — ``period_from`` (``current`` = the fiscal period containing today, on the
  injected clock) to ``period_to``; rows outside are skipped;
* **closed periods** — ``closed_periods`` are never written, whatever the window says. Epicor
  itself refuses postings into a closed period (and the EpicorWriter asks ``CheckFiscalYear``
  before it enters a journal), but budgets are not postings and Epicor accepts them into closed
  periods, so the connector guards both itself.

A skipped row is audited with status ``skipped`` and its reason, so a replay after a rule change
can send it. Typing (amount, period) happens here too: an amount that is not a plain number or a
period the ``period_format`` cannot read fails the record with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

from mlc.flows.outbound.export import SourceValue
from mlc.flows.outbound.options import OutboundOptions
from mlc.flows.outbound.periods import FiscalPeriod, PeriodReader, period_containing
from mlc.flows.periods import PeriodError


class TypedValue(NamedTuple):
    period: FiscalPeriod
    amount: Decimal


class Verdict(NamedTuple):
    """Why a row goes no further: ``status`` is ``skipped`` (a rule) or ``failed`` (bad data)."""

    status: str
    reason: str


def parse_amount(text: str, decimals: int) -> Decimal:
    """``text`` as a decimal rounded half-up to ``decimals`` places; :class:`ValueError` if it is
    not a plain finite number (grouping separators and currency signs are refused, not guessed)."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"amount {text!r} is not a plain number") from None
    if not amount.is_finite():
        raise ValueError(f"amount {text!r} is not a finite number")
    return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class DirectionRules:
    #: The flow's version: the only one written (two versions summed into one budget would be
    #: neither).
    version: str
    #: Versions allowed to flow back at all (the configured version is one of them).
    versions: frozenset[str]
    first: FiscalPeriod | None
    last: FiscalPeriod | None
    closed: frozenset[FiscalPeriod]
    reader: PeriodReader
    decimals: int

    @classmethod
    def from_options(cls, options: OutboundOptions, today: dt.date) -> DirectionRules:
        """Rules of a checked flow (:func:`~mlc.flows.outbound.options.outbound_spec`)."""
        current = period_containing(today, options.fiscal_year_start_month)
        reader = PeriodReader(options.period_naming(), current.year)
        first: FiscalPeriod | None = None
        if options.period_from == "current":
            first = current
        elif options.period_from:
            first = FiscalPeriod.parse(options.period_from)
        last = FiscalPeriod.parse(options.period_to) if options.period_to else None
        return cls(
            version=options.version,
            versions=options.versions,
            first=first,
            last=last,
            closed=frozenset(FiscalPeriod.parse(text) for text in options.closed_periods),
            reader=reader,
            decimals=options.amount_decimals,
        )

    def allows(self, period: FiscalPeriod) -> str | None:
        """Why ``period`` may not be written, or None."""
        if period in self.closed:
            return f"fiscal period {period} is closed (closed_periods)"
        if self.first is not None and period < self.first:
            return f"fiscal period {period} is before period_from {self.first}"
        if self.last is not None and period > self.last:
            return f"fiscal period {period} is after period_to {self.last}"
        return None

    def judge(self, value: SourceValue) -> TypedValue | Verdict:
        """The typed value of a row the rules let through, or the verdict that stops it."""
        if value.error:
            return Verdict("failed", value.error)
        if value.version not in self.versions:
            allowed = ", ".join(sorted(self.versions))
            return Verdict(
                "skipped", f"version {value.version!r} may not flow back (allowed: {allowed})"
            )
        if value.version != self.version:
            return Verdict(
                "skipped", f"version {value.version!r} is not this flow's version {self.version!r}"
            )
        if not value.account or not value.cost_center:
            return Verdict("failed", f"line {value.line}: no account or cost center code")
        try:
            period = self.reader.read(value.period)
        except PeriodError as exc:
            return Verdict("failed", f"line {value.line}: {exc}")
        refused = self.allows(period)
        if refused:
            return Verdict("skipped", refused)
        if not value.amount:
            return Verdict("skipped", f"line {value.line}: blank amount")
        try:
            amount = parse_amount(value.amount, self.decimals)
        except ValueError as exc:
            return Verdict("failed", f"line {value.line}: {exc}")
        return TypedValue(period, amount)
