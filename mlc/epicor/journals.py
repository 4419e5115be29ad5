"""Entering and posting a GL journal through the business-object methods.

Method names and parameters are [SNO]'s; the order is that of two real WCF importers [WCF-GL]
(reference/epicor.md §4; the REST wire sequence itself is unverified). Every step echoes the
tableset ``ds`` returned by the previous one:

1. ``GLJrnGrpSvc/GetNewGLJrnGrp {ds}`` → set ``GroupID`` (user-assigned), ``JournalCode``,
   ``JEDate`` → ``CheckFiscalYear {ds, cGroupID, cJEDate}`` → ``Update {ds}``.
2. ``GLJournalEntrySvc/GetNewGlJrnHedTran {ds, GroupID}`` → set ``Description``, ``JEDate`` and
   ``CommentText`` (the posting reference) → ``PreUpdate {ds}`` → ``Update {ds}``: Epicor assigns
   ``JournalNum``.
3. Per line ``GetNewGLJrnDtlMnl {ds, bookID, fiscalYear, fiscalYearSuffix, journalCode,
   journalNum, journalLine: 0}`` → set ``GLAccount`` and ``TotDebit`` or ``TotCredit`` →
   ``Update {ds}``: Epicor assigns ``JournalLine``.
4. ``GLJrnGrpSvc/UnlockGroup {inGroupID}`` → ``CheckBeforePost {groupID}`` →
   ``PostGroupJournals {postGroupID}`` → ``parameters.NotAllPostedMessage``.

Retry safety. Steps that write (``Update``, ``PostGroupJournals``) are sent with
``idempotent=False``: an unknown outcome raises :class:`mlc.http.OutcomeUnknown`, never a blind
repeat. The caller then looks (:func:`mlc.epicor.lookups.find_journal_by_reference`): if the
reference is posted, it is done; otherwise it calls :meth:`JournalPoster.post` again, which first
discards what an interrupted attempt left under the same group id (a group, maybe a header and
some lines — never posted, since posting deletes the group) and then starts over. The group id
must therefore be deterministic per posting and used for nothing else. Discarding sends the group
row with ``RowMod = "D"`` to ``GLJrnGrpSvc/Update``; whether a live server deletes a group that
still holds journals that way is unverified (it may want the journals deleted first).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mlc.epicor import entities
from mlc.epicor.client import EpicorClient
from mlc.epicor.errors import EpicorProtocolError, EpicorRequestError
from mlc.epicor.query import compare, datetime_literal

log = logging.getLogger("mlc.epicor")

GROUP_SVC = "Erp.BO.GLJrnGrpSvc"
ENTRY_SVC = "Erp.BO.GLJournalEntrySvc"
_ENTRY_TABLES = (
    "GLJrnHed",
    "GLJrnHedAttch",
    "GLJrnDtlMnl",
    "GLJrnDtlMnlAttch",
    "GLJrnDtlMnlDEASch",
    "GLJrnDtlMnlTranGLC",
    "GlAllocations",
    "LegalNumGenOpts",
    "ExtensionTables",
)

Tableset = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class JournalLine:
    """One line: ``account`` in Epicor's ``seg1|seg2|…`` form, ``amount`` debit-positive."""

    account: str
    amount: Decimal
    description: str = ""


@dataclass(frozen=True)
class JournalEntry:
    """One journal in its own group, identified by ``reference`` (kept in ``CommentText``)."""

    group_id: str
    reference: str
    je_date: date
    description: str
    lines: Sequence[JournalLine]
    journal_code: str = "GJ"

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError(f"journal {self.reference}: no lines")
        total = sum((line.amount for line in self.lines), Decimal(0))
        if total != 0:
            raise ValueError(f"journal {self.reference}: debits and credits differ by {total}")


@dataclass(frozen=True)
class PostedJournal:
    group_id: str
    journal_num: int
    lines: int
    #: ``CheckFiscalYear``'s warning (a closed period), empty when none.
    warning: str


class JournalPoster:
    """Enters and posts :class:`JournalEntry` values through one :class:`EpicorClient`."""

    def __init__(self, client: EpicorClient) -> None:
        self._client = client

    async def post(self, entry: JournalEntry) -> PostedJournal:
        """Enter and post ``entry`` (see the module docs for retries)."""
        await self.discard_group(entry.group_id)
        ds, warning = await self._create_group(entry)
        ds = await self._create_header(entry, ds)
        header = _only(ds, "GLJrnHed", entry.reference)
        for line in entry.lines:
            ds = await self._add_line(header, line, ds)
        await self._call(GROUP_SVC, "UnlockGroup", {"inGroupID": entry.group_id}, idempotent=True)
        await self._call(GROUP_SVC, "CheckBeforePost", {"groupID": entry.group_id}, idempotent=True)
        posted = await self._call(
            GROUP_SVC, "PostGroupJournals", {"postGroupID": entry.group_id}, idempotent=False
        )
        not_posted = str((posted.parameters or {}).get("NotAllPostedMessage") or "")
        if not_posted:
            raise EpicorRequestError(
                f"{self._client.connection}: journal {entry.reference} (group {entry.group_id}) "
                f"was not posted: {not_posted}"
            )
        number = int(header["JournalNum"])
        log.info(
            "epicor_journal_posted",
            extra={
                "connection": self._client.connection,
                "group": entry.group_id,
                "journal": number,
                "lines": len(entry.lines),
            },
        )
        return PostedJournal(entry.group_id, number, len(entry.lines), warning)

    async def group_exists(self, group_id: str) -> bool:
        rows = await self._client.query(entities.JOURNAL_GROUPS, compare("GroupID", "eq", group_id))
        return bool(rows)

    async def discard_group(self, group_id: str) -> bool:
        """Delete an unposted group and its journals; ``False`` when there was none."""
        groups = await self._client.query(
            entities.JOURNAL_GROUPS, compare("GroupID", "eq", group_id)
        )
        if not groups:
            return False
        row = {"Company": groups[0].Company, "GroupID": group_id, "RowMod": "D"}
        await self._call(GROUP_SVC, "Update", {"ds": {"GLJrnGrp": [row]}}, idempotent=False)
        log.warning(
            "epicor_journal_group_discarded",
            extra={"connection": self._client.connection, "group": group_id},
        )
        return True

    async def _create_group(self, entry: JournalEntry) -> tuple[Tableset, str]:
        result = await self._call(
            GROUP_SVC, "GetNewGLJrnGrp", {"ds": {"GLJrnGrp": []}}, idempotent=True
        )
        ds = _tableset(result.parameters, "GetNewGLJrnGrp")
        group = _only(ds, "GLJrnGrp", entry.reference)
        when = datetime_literal(datetime.combine(entry.je_date, datetime.min.time()))
        group.update({"GroupID": entry.group_id, "JournalCode": entry.journal_code, "JEDate": when})
        checked = await self._call(
            GROUP_SVC,
            "CheckFiscalYear",
            {"ds": ds, "cGroupID": entry.group_id, "cJEDate": when},
            idempotent=True,
        )
        ds = _tableset(checked.parameters, "CheckFiscalYear")
        warning = str((checked.parameters or {}).get("opMessage") or "")
        saved = await self._call(GROUP_SVC, "Update", {"ds": ds}, idempotent=False)
        return _tableset(saved.parameters, "GLJrnGrpSvc/Update"), warning

    async def _create_header(self, entry: JournalEntry, group_ds: Tableset) -> Tableset:
        empty: Tableset = {table: [] for table in _ENTRY_TABLES}
        result = await self._call(
            ENTRY_SVC,
            "GetNewGlJrnHedTran",
            {"ds": empty, "GroupID": entry.group_id},
            idempotent=True,
        )
        ds = _tableset(result.parameters, "GetNewGlJrnHedTran")
        header = _only(ds, "GLJrnHed", entry.reference)
        header.update(
            {
                "Description": entry.description,
                "CommentText": entry.reference,
                "JEDate": _only(group_ds, "GLJrnGrp", entry.reference)["JEDate"],
            }
        )
        checked = await self._call(ENTRY_SVC, "PreUpdate", {"ds": ds}, idempotent=True)
        ds = _tableset(checked.parameters, "PreUpdate")
        saved = await self._call(ENTRY_SVC, "Update", {"ds": ds}, idempotent=False)
        return _tableset(saved.parameters, "GLJournalEntrySvc/Update")

    async def _add_line(self, header: dict[str, Any], line: JournalLine, ds: Tableset) -> Tableset:
        result = await self._call(
            ENTRY_SVC,
            "GetNewGLJrnDtlMnl",
            {
                "ds": ds,
                "bookID": header["BookID"],
                "fiscalYear": header["FiscalYear"],
                "fiscalYearSuffix": header["FiscalYearSuffix"],
                "journalCode": header["JournalCode"],
                "journalNum": header["JournalNum"],
                "journalLine": 0,
            },
            idempotent=True,
        )
        ds = _tableset(result.parameters, "GetNewGLJrnDtlMnl")
        added = [row for row in ds.get("GLJrnDtlMnl", []) if row.get("RowMod") == "A"]
        if len(added) != 1:
            raise EpicorProtocolError(
                f"{self._client.connection}: GetNewGLJrnDtlMnl returned {len(added)} new lines"
            )
        debit = line.amount if line.amount > 0 else Decimal(0)
        credit = -line.amount if line.amount < 0 else Decimal(0)
        added[0].update(
            {
                "GLAccount": line.account,
                "TotDebit": debit,
                "TotCredit": credit,
                "Description": line.description,
            }
        )
        saved = await self._call(ENTRY_SVC, "Update", {"ds": ds}, idempotent=False)
        return _tableset(saved.parameters, "GLJournalEntrySvc/Update")

    async def _call(
        self, service: str, method: str, parameters: dict[str, Any], *, idempotent: bool
    ) -> Any:
        return await self._client.call(service, method, parameters, idempotent=idempotent)


def _tableset(parameters: Any, step: str) -> Tableset:
    ds = parameters.get("ds") if isinstance(parameters, dict) else None
    if not isinstance(ds, dict):
        raise EpicorProtocolError(f"Epicor {step} did not return the tableset (parameters.ds)")
    return ds


def _only(ds: Tableset, table: str, reference: str) -> dict[str, Any]:
    rows = ds.get(table) or []
    if len(rows) != 1 or not isinstance(rows[0], dict):
        raise EpicorProtocolError(
            f"journal {reference}: expected one {table} row in the tableset, got {len(rows)}"
        )
    return rows[0]
