"""Planning a plan-value journal: post the difference between approved and already posted.

Given, for one flow, version and fiscal period, the approved total per GL account and what this
flow's journals already posted there (read from Epicor by the EpicorWriter), :func:`plan_journal`
returns the lines to post — one per account whose total moves, debit when it grows — plus one
balancing line to the offset account, so the journal always balances. Nothing to move → None.
See :mod:`.keys` for why journals are keyed by increment.

Posted lines are told apart by their ``Description``: :data:`OFFSET_DESCRIPTION` marks balancing
lines (never counted as an account's plan total), :func:`line_description` the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from mlc.flows.outbound.keys import group_id, journal_reference
from mlc.flows.outbound.periods import FiscalPeriod
from mlc.messages import JournalLinePlan

OFFSET_DESCRIPTION = "mlc plan offset"
_ZERO = Decimal(0)


def line_description(version: str, period: FiscalPeriod) -> str:
    return f"mlc plan {version} {period}"


def is_offset_line(description: str) -> bool:
    return description == OFFSET_DESCRIPTION


@dataclass(frozen=True)
class PostedLine:
    """A line this flow posted earlier, as read back from Epicor."""

    reference: str
    gl_account: str
    debit: Decimal
    credit: Decimal
    description: str


@dataclass(frozen=True)
class JournalPlan:
    reference: str
    group_id: str
    period: FiscalPeriod
    lines: tuple[JournalLinePlan, ...]
    offset_account: str
    #: Signed amount of the balancing line (debit if positive); zero when the lines balance.
    offset_amount: Decimal


def posted_totals(lines: Iterable[PostedLine]) -> tuple[dict[str, Decimal], set[str]]:
    """Net posted (debit - credit) per account, balancing lines excluded; and the references."""
    totals: dict[str, Decimal] = {}
    references: set[str] = set()
    for line in lines:
        references.add(line.reference)
        if is_offset_line(line.description):
            continue
        totals[line.gl_account] = totals.get(line.gl_account, _ZERO) + line.debit - line.credit
    return totals, references


def plan_journal(
    *,
    flow: str,
    version: str,
    period: FiscalPeriod,
    book: str,
    journal_code: str,
    offset_account: str,
    targets: Mapping[str, Decimal],
    posted: Iterable[PostedLine],
    reverse_missing: bool,
) -> JournalPlan | None:
    """The journal that brings this flow's totals in ``period`` to ``targets``; None if none.

    ``reverse_missing``: accounts posted before but absent from ``targets`` go back to zero.
    """
    totals, references = posted_totals(posted)
    accounts = set(targets) | (set(totals) if reverse_missing else set())
    lines: list[JournalLinePlan] = []
    for account in sorted(accounts):
        target = targets.get(account, _ZERO)
        already = totals.get(account, _ZERO)
        if target != already:
            lines.append(
                JournalLinePlan(
                    gl_account=account, amount=target - already, posted=already, target=target
                )
            )
    if not lines:
        return None
    reference = journal_reference(
        flow=flow,
        version=version,
        period=period,
        book=book,
        journal_code=journal_code,
        offset_account=offset_account,
        lines=[(line.gl_account, line.amount) for line in lines],
        posted_references=references,
    )
    return JournalPlan(
        reference=reference,
        group_id=group_id(reference),
        period=period,
        lines=tuple(lines),
        offset_account=offset_account,
        offset_amount=-sum((line.amount for line in lines), _ZERO),
    )
