"""``GLJrnGrpSvc/PostGroupJournals``: posting a journal group to the ledger.

Posting moves every line into ``GLJrnDtls`` (``Posted`` true, ``PostedDate`` today,
``SourceModule`` GL), adds debit - credit to the ``GLPeriodBal`` row of the line's account and
period (bumping its ``SysRevID`` and modification time, creating the row if the period had none),
and deletes the group and its journals, as Epicor does when every journal posts [SNO: posting
"deletes" GLJrnGrp and GLJrnHed]. "Posted lines appear in GLJrnDtls" is inferred from field docs
(reference §4).

Refusals, all before anything is written (Epicor's business-object error body, HTTP 400): a
journal whose debits and credits differ (``GLJrnHed.Override`` for non-balancing entries is not
emulated, so the whole group fails); a journal in a closed period ("Fiscal period is closed", the
``closed_periods`` option and ``/_sandbox/epicor/periods``); a group without journals; a journal
without lines. Domain counters: ``journal_posts`` (groups posted), ``journal_lines_posted``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from mlc.sandbox.common.chart import COMPANY, CURRENCY
from mlc.sandbox.common.counters import RequestCounters
from mlc.sandbox.epicor.balances import LAST_CHANGE
from mlc.sandbox.epicor.errors import business
from mlc.sandbox.epicor.schema import row_type
from mlc.sandbox.epicor.state import EpicorState

LINE = row_type("GLJrnDtlMnl")
POSTED = row_type("GLJrnDtl")
_ZERO = Decimal(0)
#: The columns a posted line takes over from the entered one.
_CARRIED = tuple(name for name in POSTED.fields if LINE.has(name) and name != "SysRevID")


def delete_group(state: EpicorState, group_id: str) -> None:
    """Remove a journal group with its journals and their lines."""
    lines = state.table("GLJrnDtlMnls")
    heads = state.table("GLJournalEntries")
    for line in lines.where(GroupID=group_id):
        lines.delete(lines.key_of(line))
    for head in heads.where(GroupID=group_id):
        heads.delete(heads.key_of(head))
    state.table("GLJrnGrps").delete((COMPANY, group_id))


def post_group(state: EpicorState, counters: RequestCounters, group_id: str, user: str) -> None:
    heads = state.table("GLJournalEntries").where(GroupID=group_id)
    if not heads:
        raise business(f"There are no journals to post in group {group_id}.", "GLJrnHed")
    journal_lines: dict[tuple[Any, Any], list[Mapping[str, Any]]] = {}
    for line in state.table("GLJrnDtlMnls").where(GroupID=group_id):
        journal_lines.setdefault((line["JournalNum"], line["JournalCode"]), []).append(line)
    plan: list[tuple[Mapping[str, Any], list[Mapping[str, Any]]]] = []
    for head in heads:
        number = head["JournalNum"]
        lines = journal_lines.get((number, head["JournalCode"]), [])
        if not lines:
            raise business(f"Journal {number} has no lines.", "GLJrnHed", "JournalNum")
        debit = sum((line["DebitAmount"] for line in lines), _ZERO)
        credit = sum((line["CreditAmount"] for line in lines), _ZERO)
        if debit != credit:
            raise business(
                f"Journal {number} is out of balance: debits {debit:.2f}, credits {credit:.2f}.",
                "GLJrnHed",
                "Balance",
            )
        year, period = head["FiscalYear"], head["FiscalPeriod"]
        if (year, period) in state.closed_periods:
            raise business(
                f"Fiscal period is closed. Journal {number} is dated in fiscal period "
                f"{year}/{period}.",
                "GLJrnHed",
                "FiscalPeriod",
            )
        plan.append((head, lines))
    now = state.now()
    posted_lines = 0
    for head, lines in plan:
        for line in lines:
            _post_line(state, head, line, now, user)
            posted_lines += 1
    delete_group(state, group_id)
    counters.bump("journal_posts")
    counters.bump("journal_lines_posted", posted_lines)


def _post_line(
    state: EpicorState,
    head: Mapping[str, Any],
    line: Mapping[str, Any],
    now: datetime,
    user: str,
) -> None:
    posted = state.table("GLJrnDtls")
    debit: Decimal = line["DebitAmount"]
    credit: Decimal = line["CreditAmount"]
    account: str = line["GLAccount"]
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    values = {name: line[name] for name in _CARRIED}
    values.update(
        {
            "Posted": True,
            "PostedBy": user,
            "PostedDate": today,
            "CreateDate": today,
            "SourceModule": "GL",
            "BalanceAcct": account,
            "BookDebitAmount": debit,
            "BookCreditAmount": credit,
            "BookCurrencyCode": CURRENCY,
            "SysRowID": state.new_row_id(),
            "CommentText": head["CommentText"],
        }
    )
    posted.insert(state.stamp(posted, values))
    balances = state.balances
    index = balances.index_of(account, line["FiscalYear"], line["FiscalPeriod"])
    if index is None:
        raise business(f"GL Account {account} has no balance calendar.", "GLPeriodBal")
    row = balances.row(index)
    balances.write(
        index,
        {
            "BalanceAmt": row["BalanceAmt"] + debit - credit,
            "DebitAmt": row["DebitAmt"] + debit,
            "CreditAmt": row["CreditAmt"] + credit,
            "SysRevID": state.revisions.next(),
            LAST_CHANGE: now,
        },
    )
