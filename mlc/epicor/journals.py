"""Entering and posting a GL journal through the business-object methods.

Method names and parameters are [SNO]'s; the order is that of two real WCF importers [WCF-GL]
(reference/epicor.md §4; the REST wire sequence itself is unverified). One journal lives alone in
its own group, under a group id that is deterministic per posting and used for nothing else:

0. ``GLJrnGrpSvc/GetByID {groupID}``: a group left by an interrupted attempt (never posted, since
   posting deletes the group) is discarded with ``GLJrnGrpSvc/Update`` of the group row with
   ``RowMod = "D"`` (whether a live server deletes a group that still holds journals that way is
   unverified; it may want the journals deleted first).
1. ``GLJrnGrpSvc/GetNewGLJrnGrp {ds}`` → set ``GroupID``, ``JournalCode``, ``JEDate``, ``BookID``
   → ``CheckFiscalYear {ds, cGroupID, cJEDate}`` (a warning such as a closed period stops the
   journal before anything is entered) → ``Update {ds}``.
2. ``GLJournalEntrySvc/GetNewGlJrnHedTran {ds, GroupID}`` → set ``Description``, ``JEDate`` and
   ``CommentText`` (the posting reference) → ``PreUpdate {ds}`` → ``Update {ds}``: Epicor assigns
   ``JournalNum``, read back by reference (:func:`mlc.epicor.lookups.find_journal_by_reference`).
3. One ``GetNewGLJrnDtlMnl {ds, bookID, fiscalYear, fiscalYearSuffix, journalCode, journalNum,
   journalLine: 0}`` gives a line template; every line is a copy of it (``JournalLine``,
   ``GLAccount``, ``TotDebit`` or ``TotCredit``) and all are saved in one ``Update``, rather than
   one ``GetNew`` per line, which would resend the growing tableset every time.
4. ``GLJrnGrpSvc/UnlockGroup {inGroupID}`` → ``CheckBeforePost {groupID}`` →
   ``PostGroupJournals {postGroupID}`` → ``parameters.NotAllPostedMessage``.

Retry safety. Steps that write (the three ``Update`` calls and ``PostGroupJournals``) are sent
with ``idempotent=False`` through a :data:`Once` policy, each with a read that tells whether it
happened (the group exists; a header carries the reference; the group holds the lines; a posted
line carries the reference). The default policy, :func:`send_once`, lets
:class:`mlc.http.OutcomeUnknown` reach the caller, who looks before posting again; a caller that
wants to recover in place passes a policy that reads and resends only when the step did not
happen. When a step fails with an :class:`~mlc.epicor.errors.EpicorError`, the poster discards
what it entered before re-raising.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mlc.epicor.client import EpicorClient
from mlc.epicor.errors import EpicorError
from mlc.epicor.lookups import find_journal_by_reference
from mlc.http import OutcomeUnknown
from mlc.logs import redact

log = logging.getLogger("mlc.epicor")

GROUP_SVC = "Erp.BO.GLJrnGrpSvc"
ENTRY_SVC = "Erp.BO.GLJournalEntrySvc"
_ZERO = Decimal(0)
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
#: ``once(send, happened, call)``: how a write whose outcome may be unknown is sent. ``send``
#: performs the write, ``happened`` reads whether it took effect, ``call`` names it for messages.
Once = Callable[[Callable[[], Awaitable[Any]], Callable[[], Awaitable[bool]], str], Awaitable[Any]]


class JournalFailed(EpicorError):
    """A journal could not be entered or posted; the message names the group and the step."""


async def send_once(
    send: Callable[[], Awaitable[Any]], happened: Callable[[], Awaitable[bool]], call: str
) -> Any:
    """Send once; an unknown outcome reaches the caller, who looks before posting again."""
    return await send()


@dataclass(frozen=True)
class JournalLine:
    """One line: ``account`` in Epicor's ``seg1|seg2|…`` form, ``amount`` debit-positive."""

    account: str
    amount: Decimal
    description: str = ""


@dataclass(frozen=True)
class JournalEntry:
    """One journal in its own group, identified by ``reference`` (kept in ``CommentText``).

    ``je_date`` is an ISO date (``YYYY-MM-DD``).
    """

    group_id: str
    reference: str
    je_date: str
    description: str
    lines: Sequence[JournalLine]
    journal_code: str = "GJ"
    book_id: str = "MAIN"

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError(f"journal {self.reference}: no lines")
        total = sum((line.amount for line in self.lines), _ZERO)
        if total != 0:
            raise ValueError(f"journal {self.reference}: debits and credits differ by {total}")


@dataclass(frozen=True)
class PostedJournal:
    group_id: str
    journal_num: int
    lines: int


class JournalPoster:
    """Enters and posts :class:`JournalEntry` values through one :class:`EpicorClient`."""

    def __init__(self, client: EpicorClient, *, once: Once = send_once) -> None:
        self._client = client
        self._once = once

    @property
    def connection(self) -> str:
        return self._client.connection

    async def post(self, entry: JournalEntry) -> PostedJournal:
        """Discard what an interrupted attempt left, enter ``entry`` and post its group.

        :raises EpicorError: a step failed (what was entered is discarded first).
        :raises mlc.http.OutcomeUnknown: as the :data:`Once` policy lets it through.
        """
        try:
            await self.discard_unposted(entry.group_id)
            journal_num = await self._enter(entry)
            await self._post(entry)
        except EpicorError:
            await self._cleanup(entry.group_id)
            raise
        return PostedJournal(entry.group_id, journal_num, len(entry.lines))

    async def group_exists(self, group_id: str) -> bool:
        try:
            result = await self._client.call(
                GROUP_SVC, "GetByID", {"groupID": group_id}, idempotent=True
            )
        except EpicorError as exc:
            if exc.status in (400, 404):
                return False
            raise
        return result.returnObj is not None

    async def discard_unposted(self, group_id: str) -> bool:
        """Delete the group (never posted) an interrupted attempt left; ``False`` if none."""
        if not await self.group_exists(group_id):
            return False
        log.warning(
            "plan_journal_unposted_group_found",
            extra={"connection": self.connection, "group": group_id},
        )
        await self._delete_group(group_id)
        return True

    async def _delete_group(self, group_id: str) -> None:
        company = self._client.settings.company
        body = {"ds": {"GLJrnGrp": [{"Company": company, "GroupID": group_id, "RowMod": "D"}]}}
        await self._method(GROUP_SVC, "Update", body)

    async def _cleanup(self, group_id: str) -> None:
        try:
            if await self.group_exists(group_id):
                await self._delete_group(group_id)
        except (EpicorError, OutcomeUnknown) as exc:
            log.warning(
                "plan_journal_cleanup_failed",
                extra={"connection": self.connection, "group": group_id,
                       "error": redact(str(exc))},
            )  # fmt: skip

    async def _method(
        self, service: str, method: str, body: Mapping[str, Any], *, idempotent: bool = False
    ) -> Any:
        result = await self._client.call(service, method, body, idempotent=idempotent)
        return result.parameters

    async def _enter(self, entry: JournalEntry) -> int:
        """Enter the group, its journal and lines; the journal number Epicor assigned."""
        group_id = entry.group_id
        je_date = f"{entry.je_date}T00:00:00"
        params = await self._method(GROUP_SVC, "GetNewGLJrnGrp", {"ds": {"GLJrnGrp": []}})
        ds = _tableset(params, f"{GROUP_SVC}/GetNewGLJrnGrp")
        for row in ds.get("GLJrnGrp", []):
            row.update(GroupID=group_id, JournalCode=entry.journal_code, JEDate=je_date,
                       BookID=entry.book_id)  # fmt: skip
        params = await self._method(
            GROUP_SVC, "CheckFiscalYear", {"ds": ds, "cGroupID": group_id, "cJEDate": je_date}
        )
        warning = str(params.get("opMessage") or "") if isinstance(params, dict) else ""
        if warning:
            raise JournalFailed(f"{GROUP_SVC}/CheckFiscalYear for {entry.je_date}: {warning}")
        ds = _tableset(params, f"{GROUP_SVC}/CheckFiscalYear")
        await self._once(
            lambda: self._method(GROUP_SVC, "Update", {"ds": ds}),
            lambda: self.group_exists(group_id),
            f"{GROUP_SVC}/Update (group {group_id})",
        )
        empty: Tableset = {table: [] for table in _ENTRY_TABLES}
        params = await self._method(
            ENTRY_SVC, "GetNewGlJrnHedTran", {"ds": empty, "GroupID": group_id}
        )
        ds = _tableset(params, f"{ENTRY_SVC}/GetNewGlJrnHedTran")
        for row in ds.get("GLJrnHed", []):
            row.update(Description=entry.description, CommentText=entry.reference, JEDate=je_date)
        params = await self._method(ENTRY_SVC, "PreUpdate", {"ds": ds})
        ds = _tableset(params, f"{ENTRY_SVC}/PreUpdate")

        async def saved_header() -> bool:
            return bool((await find_journal_by_reference(self._client, entry.reference)).entries)

        await self._once(
            lambda: self._method(ENTRY_SVC, "Update", {"ds": ds}),
            saved_header,
            f"{ENTRY_SVC}/Update (journal of group {group_id})",
        )
        lookup = await find_journal_by_reference(self._client, entry.reference)
        if len(lookup.entries) != 1:
            raise JournalFailed(
                f"{ENTRY_SVC}: group {group_id} has {len(lookup.entries)} journals with "
                f"reference {entry.reference}, expected 1"
            )
        head = lookup.entries[0]
        params = await self._method(
            ENTRY_SVC,
            "GetNewGLJrnDtlMnl",
            {
                "ds": {**empty, "GLJrnHed": []},
                "bookID": head.BookID,
                "fiscalYear": head.FiscalYear,
                "fiscalYearSuffix": head.FiscalYearSuffix,
                "journalCode": head.JournalCode,
                "journalNum": head.JournalNum,
                "journalLine": 0,
            },
        )
        template_rows = _tableset(params, f"{ENTRY_SVC}/GetNewGLJrnDtlMnl").get("GLJrnDtlMnl", [])
        if not template_rows:
            raise JournalFailed(f"{ENTRY_SVC}/GetNewGLJrnDtlMnl returned no line")
        rows = []
        for number, line in enumerate(entry.lines, start=1):
            row = copy.deepcopy(template_rows[-1])
            row.update(
                JournalLine=number,
                GLAccount=line.account,
                Description=line.description,
                TotDebit=line.amount if line.amount > 0 else _ZERO,
                TotCredit=-line.amount if line.amount < 0 else _ZERO,
                RowMod="A",
            )
            rows.append(row)

        await self._once(
            lambda: self._method(ENTRY_SVC, "Update", {"ds": {**empty, "GLJrnDtlMnl": rows}}),
            lambda: self._lines_saved(group_id, len(rows)),
            f"{ENTRY_SVC}/Update (lines of group {group_id})",
        )
        return int(head.JournalNum)

    async def _lines_saved(self, group_id: str, expected: int) -> bool:
        result = await self._client.call(
            ENTRY_SVC, "GetByGroupID", {"GroupID": group_id}, idempotent=True
        )
        ds = result.returnObj if isinstance(result.returnObj, dict) else {}
        return len(ds.get("GLJrnDtlMnl", [])) == expected

    async def _post(self, entry: JournalEntry) -> None:
        group_id = entry.group_id
        await self._method(GROUP_SVC, "UnlockGroup", {"inGroupID": group_id})
        await self._method(GROUP_SVC, "CheckBeforePost", {"groupID": group_id})

        async def posted() -> bool:
            return (await find_journal_by_reference(self._client, entry.reference)).posted

        params = await self._once(
            lambda: self._method(GROUP_SVC, "PostGroupJournals", {"postGroupID": group_id}),
            posted,
            f"{GROUP_SVC}/PostGroupJournals (group {group_id})",
        )
        message = str(params.get("NotAllPostedMessage") or "") if isinstance(params, dict) else ""
        if message:
            raise JournalFailed(f"{GROUP_SVC}/PostGroupJournals (group {group_id}): {message}")
        if not await posted():
            raise JournalFailed(
                f"{GROUP_SVC}/PostGroupJournals (group {group_id}) answered, but no posted "
                f"line carries reference {entry.reference}"
            )


def _tableset(parameters: Any, call: str) -> Tableset:
    ds = parameters.get("ds") if isinstance(parameters, dict) else None
    if not isinstance(ds, dict):
        raise JournalFailed(f"{call}: the answer has no parameters.ds tableset")
    return ds
