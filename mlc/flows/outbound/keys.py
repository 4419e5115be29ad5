"""Posting keys: deterministic names for every value the outbound flows write into Epicor.

Two kinds of write, two kinds of key, because Epicor treats them differently:

**Budget cells** (``AccountBudgetSvc``) are *set*: writing 100 twice leaves 100. The key is
``sha256(budget, flow, version, book, budget code, balance type, GL account, fiscal year,
period, hash of the amount)``. The GL account string carries the natural account, the cost center
and the site. The amount's hash is part of the key so that a *changed* approved value is a new
posting (audited as such), while a repeat of the same value is recognised as already posted. The
key is evidence, not the gate: before every write the EpicorWriter reads the cell from Epicor and
skips it when Epicor already holds the approved value — so a crash after the write and before the
key was stored, a rerun or a replay all end in "unchanged", and an approved value that moved in
Anaplan is written (the value in Epicor *becomes* the approved value; totals never double because
nothing is added).

**Journals** are *added*: posting 100 twice books 200. Their key cannot name the value, or an
unchanged plan would post again after a restart; it names the *increment*. For one flow, version
and fiscal period the EpicorWriter reads what this flow's journals already posted per account
(Epicor is the record of truth, found by the reference on each line) and plans only the difference
to the approved value; the journal's reference is
``mlc:<flow>:<version>:<YYYY-PP>:<sha256(book, journal code, offset account, lines, references
already posted)>``. It goes into the journal header's ``CommentText`` (Epicor copies it onto every
posted line). After a crash the same state yields the same reference, so a journal entered but not
posted is found and finished instead of entered twice, and one already posted makes the
difference zero: a rerun posts nothing and the total is unchanged. Folding the earlier references
into the hash keeps a later, equal increment (0 → 100 → 0 → 100) distinct from the first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

from mlc.flows.outbound.periods import FiscalPeriod
from mlc.flows.records import content_hash

#: Journal references start with this; posted lines are found by it.
REFERENCE_PREFIX = "mlc"
#: Journal group ids are this prefix plus 6 hex digits: 8 characters, like Epicor's own.
GROUP_PREFIX = "ML"


def canonical_amount(amount: Decimal) -> str:
    """Plain decimal text without exponent; ``-0.00`` reads ``0.00``."""
    text = format(amount, "f")
    return text[1:] if text.startswith("-") and not amount else text


def _digest(parts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def budget_posting_key(
    *,
    flow: str,
    version: str,
    book: str,
    budget_code: str,
    balance_type: str,
    gl_account: str,
    period: FiscalPeriod,
    amount: Decimal,
) -> str:
    value_hash = content_hash([canonical_amount(amount)])
    return _digest(
        ("budget", flow, version, book, budget_code, balance_type, gl_account,
         str(period.year), str(period.period), value_hash)
    )  # fmt: skip


def journal_prefix(flow: str, version: str, period: FiscalPeriod) -> str:
    """What every reference of this flow, version and period starts with."""
    return f"{REFERENCE_PREFIX}:{flow}:{version}:{period}:"


def journal_reference(
    *,
    flow: str,
    version: str,
    period: FiscalPeriod,
    book: str,
    journal_code: str,
    offset_account: str,
    lines: Iterable[tuple[str, Decimal]],
    posted_references: Iterable[str],
) -> str:
    parts = [book, journal_code, offset_account]
    parts += [f"{account}={canonical_amount(amount)}" for account, amount in sorted(lines)]
    parts += ["posted:" + reference for reference in sorted(set(posted_references))]
    return journal_prefix(flow, version, period) + _digest(parts)[:24]


def group_id(reference: str) -> str:
    """The journal group id of a reference: deterministic, so a half-built group is found."""
    return GROUP_PREFIX + hashlib.sha256(reference.encode("utf-8")).hexdigest()[:6].upper()
