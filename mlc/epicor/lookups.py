"""Look before retrying: reads that tell whether a write whose outcome is unknown happened.

Posting methods and budget writes are not idempotent: when one ends in
:class:`mlc.http.OutcomeUnknown` (connection dropped after the request left, a timeout, a 5xx),
Epicor may or may not have applied it. The writer never sends it again blindly; it reads first,
by the deterministic posting reference it put on the write:

- journals carry the reference in the header's ``CommentText``. Until the group is posted the
  header is a ``GLJournalEntries`` row; posting deletes the header and the group and copies the
  header's ``CommentText`` onto every posted line in ``GLJrnDtls`` [SNO; reference §4 — the copy
  is how the sandbox models it, unverified on a live server]. :func:`find_journal_by_reference`
  looks in both places.
- budgets are keyed rows: reading the detail rows back (:func:`budget_details`) shows whether the
  amounts are already what the writer meant to write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlc.epicor import entities
from mlc.epicor.client import EpicorClient
from mlc.epicor.query import all_of, any_of, compare
from mlc.epicor.rows import GLBudgetDtl, GLJrnDtl, GLJrnHed

MAX_FILTERED_ACCOUNTS = 40


@dataclass(frozen=True)
class JournalLookup:
    """Where a journal with one posting reference stands in Epicor."""

    reference: str
    #: Unposted journal headers carrying the reference (entered, not yet posted).
    entries: Sequence[GLJrnHed]
    #: Posted journal lines carrying the reference.
    posted_lines: Sequence[GLJrnDtl]

    @property
    def posted(self) -> bool:
        return bool(self.posted_lines)

    @property
    def pending(self) -> bool:
        """Entered but not posted: finish posting the group rather than entering it again."""
        return bool(self.entries) and not self.posted_lines

    @property
    def absent(self) -> bool:
        """Nothing with this reference exists: writing it is safe."""
        return not self.entries and not self.posted_lines

    @property
    def group_ids(self) -> tuple[str, ...]:
        ids = [entry.GroupID for entry in self.entries] + [
            line.GroupID for line in self.posted_lines
        ]
        return tuple(dict.fromkeys(ids))


async def find_journal_by_reference(client: EpicorClient, reference: str) -> JournalLookup:
    """Journal headers and posted lines whose ``CommentText`` is ``reference``."""
    where = compare("CommentText", "eq", reference)
    entries = await client.query(entities.JOURNAL_ENTRIES, where)
    posted = [row async for row in client.rows(entities.JOURNAL_LINES, where=where)]
    return JournalLookup(reference, entries, posted)


async def budget_details(
    client: EpicorClient,
    *,
    book_id: str,
    budget_code: str,
    fiscal_year: int,
    accounts: Sequence[str] = (),
) -> list[GLBudgetDtl]:
    """The budget detail rows of one book, budget code and year (optionally some accounts).

    Up to :data:`MAX_FILTERED_ACCOUNTS` accounts are filtered by the server; more would make the
    URL too long for some proxies, so the year is read whole and filtered here.
    """
    wanted = set(accounts)
    by_account = (
        any_of(*(compare("BalanceAcct", "eq", account) for account in sorted(wanted)))
        if 0 < len(wanted) <= MAX_FILTERED_ACCOUNTS
        else None
    )
    where = all_of(
        compare("BookID", "eq", book_id),
        compare("BudgetCodeID", "eq", budget_code),
        compare("FiscalYear", "eq", fiscal_year),
        by_account,
    )
    return [
        row
        async for row in client.rows(entities.BUDGET_DETAILS, where=where)
        if not wanted or row.BalanceAcct in wanted
    ]
