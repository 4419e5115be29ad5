"""GL journal entry and posting: ``Erp.BO.GLJrnGrpSvc`` and ``Erp.BO.GLJournalEntrySvc`` methods.

Method names and parameters are [SNO]'s; the call order is that of two real WCF importers
[WCF-GL] (reference §4, the REST wire sequence itself is unverified):

1. ``GLJrnGrpSvc/GetNewGLJrnGrp {ds}`` → set ``GroupID`` (user-assigned), ``JournalCode``,
   ``JEDate`` → optional ``CheckFiscalYear {ds, cGroupID, cJEDate}`` (``opMessage``) and
   ``ChangeJournalCode`` → ``Update {ds}``.
2. ``GLJournalEntrySvc/GetNewGlJrnHedTran {ds, GroupID}`` → ``PreUpdate {ds}`` →
   ``Update {ds}``: the server assigns ``JournalNum``.
3. Per line ``GetNewGLJrnDtlMnl {ds, bookID, fiscalYear, fiscalYearSuffix, journalCode,
   journalNum, journalLine}`` → set ``GLAccount`` (``seg1|seg2|…``) or ``SegValue1..n`` and
   ``TotDebit`` or ``TotCredit`` (positive) or a signed ``TransAmt`` → ``Update {ds}``: the server
   assigns ``JournalLine``.
4. ``GLJrnGrpSvc/UnlockGroup {inGroupID}`` → ``CheckBeforePost {groupID}`` →
   ``PostGroupJournals {postGroupID}`` → ``parameters.NotAllPostedMessage``.

Posting itself is :mod:`mlc.sandbox.epicor.posting`. Entry refuses (Epicor's business-object
error body, HTTP 400) an account that is not an active GL account of the chart, a line with both a
debit and a credit or a negative amount, and a date outside the balance calendar's fiscal years.
``CheckFiscalYear`` only warns about a closed period in ``opMessage``, as an interactive check
would; posting is where it is enforced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from mlc.sandbox.common.chart import BOOK_ID, COA_CODE, COMPANY, CURRENCY, FISCAL_CALENDAR_ID
from mlc.sandbox.common.counters import RequestCounters
from mlc.sandbox.epicor.errors import (
    DUPLICATE_EXCEPTION,
    Detail,
    EpicorError,
    business,
)
from mlc.sandbox.epicor.methods import Call, Method, read_row, row_mod, write_row
from mlc.sandbox.epicor.posting import delete_group, post_group
from mlc.sandbox.epicor.schema import row_type
from mlc.sandbox.epicor.state import EpicorState
from mlc.sandbox.epicor.tables import Key, Table
from mlc.sandbox.epicor.values import parse_datetime

GROUP = row_type("GLJrnGrp")
HEAD = row_type("GLJrnHed")
LINE = row_type("GLJrnDtlMnl")
_ZERO = Decimal(0)
_EMPTY_ENTRY_DS = (
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


class Journals:
    def __init__(self, state: EpicorState, counters: RequestCounters) -> None:
        self.state = state
        self.counters = counters

    @property
    def groups(self) -> Table:
        return self.state.table("GLJrnGrps")

    @property
    def heads(self) -> Table:
        return self.state.table("GLJournalEntries")

    @property
    def lines(self) -> Table:
        return self.state.table("GLJrnDtlMnls")

    def methods(self) -> dict[tuple[str, str], Method]:
        group = "Erp.BO.GLJrnGrpSvc"
        entry = "Erp.BO.GLJournalEntrySvc"
        return {
            (group, "GetNewGLJrnGrp"): self.get_new_group,
            (group, "CheckFiscalYear"): self.check_fiscal_year,
            (group, "ChangeJournalCode"): self.change_journal_code,
            (group, "Update"): self.update_group,
            (group, "GetByID"): self.get_group,
            (group, "UnlockGroup"): self.unlock_group,
            (group, "CheckBeforePost"): self.check_before_post,
            (group, "IsNeedAsyncronousPosting"): self.needs_async,
            (group, "PostGroupJournals"): self.post_group,
            (entry, "GetNewGlJrnHedTran"): self.get_new_head,
            (entry, "PreUpdate"): self.pre_update,
            (entry, "Update"): self.update_entry,
            (entry, "GetNewGLJrnDtlMnl"): self.get_new_line,
            (entry, "ChangeGlAcct1"): self.change_account,
            (entry, "CheckDtlBeforeUpdate"): self.check_line,
            (entry, "GetByGroupID"): self.get_by_group,
        }

    # -- fiscal calendar -------------------------------------------------------------------

    def _fiscal(self, when: datetime, table: str) -> tuple[int, int]:
        years = self.state.universe.years
        if not years or not years[0] <= when.year <= years[-1]:
            raise business(
                f"Fiscal year {when.year} is not defined for fiscal calendar {FISCAL_CALENDAR_ID}.",
                table,
                "JEDate",
            )
        return when.year, when.month

    # -- GLJrnGrpSvc -----------------------------------------------------------------------

    def get_new_group(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        today = self.state.today()
        year, period = today.year, today.month
        ds.setdefault("GLJrnGrp", []).append(
            write_row(
                GROUP,
                {
                    "Company": COMPANY,
                    "BookID": BOOK_ID,
                    "BookMode": "S",
                    "CurrencyCode": CURRENCY,
                    "CreatedBy": call.principal.user,
                    "ActiveUserID": call.principal.user,
                    "JEDate": today,
                    "FiscalYear": year,
                    "FiscalPeriod": period,
                    "JournalCode": "GJ",
                    "FiscalYearSuffix": "",
                    "FiscalCalendarID": FISCAL_CALENDAR_ID,
                    "COACode": COA_CODE,
                    "FiscalPeriodType": "O",
                },
                "A",
            )
        )
        return {"parameters": {"ds": ds}}

    def check_fiscal_year(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        group_id = call.text("cGroupID")
        try:
            when = parse_datetime(call.text("cJEDate"))
        except ValueError as exc:
            raise business(str(exc), "GLJrnGrp", "JEDate") from None
        year, period = self._fiscal(when, "GLJrnGrp")
        message = ""
        if (year, period) in self.state.closed_periods:
            message = f"Fiscal period {year}/{period} is closed."
        for row in ds.get("GLJrnGrp", []):
            if str(row.get("GroupID", "")).casefold() == group_id.casefold() or not row.get(
                "GroupID"
            ):
                row.update(
                    {
                        "JEDate": write_row(GROUP, {"JEDate": when})["JEDate"],
                        "FiscalYear": year,
                        "FiscalPeriod": period,
                    }
                )
        return {"parameters": {"ds": ds, "opMessage": message}}

    def change_journal_code(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        code = call.text("proposedJournalCode")
        if not code.strip():
            raise business("Journal code is required.", "GLJrnGrp", "JournalCode")
        for row in ds.get("GLJrnGrp", []):
            row["JournalCode"] = code
        return {"parameters": {"ds": ds}}

    def update_group(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        out: list[dict[str, Any]] = []
        for given in ds.get("GLJrnGrp", []):
            mod = row_mod(given)
            values = read_row(GROUP, given, "GLJrnGrp")
            group_id = str(values.get("GroupID", "")).strip()
            if not mod:
                out.append(given)
                continue
            if not group_id:
                raise business("Group ID is required.", "GLJrnGrp", "GroupID")
            key: Key = (COMPANY, group_id)
            existing = self.groups.stored(key)
            if mod == "D":
                if existing is None:
                    raise business(f"Journal group {group_id} does not exist.", "GLJrnGrp")
                delete_group(self.state, group_id)
                continue
            when = values.get("JEDate") or self.state.today()
            year, period = self._fiscal(when, "GLJrnGrp")
            values.update(
                {
                    "Company": COMPANY,
                    "GroupID": group_id,
                    "JEDate": when,
                    "FiscalYear": year,
                    "FiscalPeriod": period,
                    "BookID": values.get("BookID") or BOOK_ID,
                    "FiscalCalendarID": FISCAL_CALENDAR_ID,
                    "COACode": COA_CODE,
                    "JournalCode": values.get("JournalCode") or "GJ",
                }
            )
            if mod == "A":
                if existing is not None:
                    raise EpicorError(
                        409,
                        f"Journal group {group_id} already exists.",
                        DUPLICATE_EXCEPTION,
                        (Detail(f"Journal group {group_id} already exists.", "GLJrnGrp"),),
                    )
                values["SysRowID"] = self.state.new_row_id()
                values["CreatedBy"] = call.principal.user
                values["ActiveUserID"] = call.principal.user
                stored = self.groups.insert(self.state.stamp(self.groups, values))
            else:
                if existing is None:
                    raise business(f"Journal group {group_id} does not exist.", "GLJrnGrp")
                stored = self.groups.update(key, self.state.stamp(self.groups, values))
            out.append(write_row(GROUP, stored))
        ds["GLJrnGrp"] = out
        return {"parameters": {"ds": ds}}

    def _group(self, group_id: str, table: str = "GLJrnGrp") -> Mapping[str, Any]:
        group = self.groups.get((COMPANY, group_id))
        if group is None:
            raise business(f"Journal group {group_id} not found.", table, "GroupID")
        return group

    def get_group(self, call: Call) -> dict[str, Any]:
        group = self._group(call.text("groupID"))
        return {"returnObj": {"GLJrnGrp": [write_row(GROUP, group)]}}

    def unlock_group(self, call: Call) -> dict[str, Any]:
        group_id = call.text("inGroupID")
        self._group(group_id)
        self.groups.update((COMPANY, group_id), {"ActiveUserID": ""})
        return {}

    def check_before_post(self, call: Call) -> dict[str, Any]:
        self._group(call.text("groupID"))
        return {}

    def needs_async(self, call: Call) -> dict[str, Any]:
        group_id = call.text("groupID")
        self._group(group_id)
        limit = call.integer("maxCountOfLines")
        count = len(self.lines.where(GroupID=group_id))
        return {"returnObj": limit > 0 and count > limit}

    def post_group(self, call: Call) -> dict[str, Any]:
        group_id = call.text("postGroupID")
        self._group(group_id)
        post_group(self.state, self.counters, group_id, call.principal.user)
        return {"parameters": {"NotAllPostedMessage": ""}}

    # -- GLJournalEntrySvc -----------------------------------------------------------------

    def get_new_head(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        group_id = call.text("GroupID")
        group = self._group(group_id, "GLJrnHed")
        for table in _EMPTY_ENTRY_DS:
            ds.setdefault(table, [])
        ds["GLJrnHed"].append(
            write_row(
                HEAD,
                {
                    "Company": COMPANY,
                    "BookID": group["BookID"],
                    "FiscalYear": group["FiscalYear"],
                    "FiscalYearSuffix": "",
                    "JournalCode": group["JournalCode"],
                    "JournalNum": 0,
                    "FiscalCalendarID": FISCAL_CALENDAR_ID,
                    "FiscalPeriod": group["FiscalPeriod"],
                    "JEDate": group["JEDate"],
                    "GroupID": group_id,
                    "CurrencyCode": CURRENCY,
                    "CreateDate": self.state.today(),
                    "EnteredBy": call.principal.user,
                },
                "A",
            )
        )
        return {"parameters": {"ds": ds}}

    def pre_update(self, call: Call) -> dict[str, Any]:
        return {"parameters": {"ds": call.dataset(), "RequiresUserInput": False}}

    def _next_journal_num(self, book: str, year: int, code: str) -> int:
        numbers = [0]
        for table in ("GLJournalEntries", "GLJrnDtls"):
            rows = self.state.table(table).where(BookID=book, FiscalYear=year, JournalCode=code)
            numbers.extend(int(row["JournalNum"]) for row in rows)
        return max(numbers) + 1

    def _head_key(self, values: Mapping[str, Any]) -> Key:
        return self.heads.key_of(values)

    def update_entry(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        touched: list[Key] = []
        assigned: dict[int, int] = {}
        for given in ds.get("GLJrnHed", []):
            mod = row_mod(given)
            values = read_row(HEAD, given, "GLJrnHed")
            if not mod:
                touched.append(self._head_key({**values, "Company": COMPANY}))
                continue
            values["Company"] = COMPANY
            if mod == "A":
                group = self._group(str(values.get("GroupID", "")), "GLJrnHed")
                when = values.get("JEDate") or group["JEDate"]
                year, period = self._fiscal(when, "GLJrnHed")
                values.update(
                    {
                        "BookID": values.get("BookID") or group["BookID"],
                        "JournalCode": values.get("JournalCode") or group["JournalCode"],
                        "FiscalYear": year,
                        "FiscalPeriod": period,
                        "JEDate": when,
                        "FiscalYearSuffix": "",
                        "FiscalCalendarID": FISCAL_CALENDAR_ID,
                        "CurrencyCode": values.get("CurrencyCode") or CURRENCY,
                        "SysRowID": self.state.new_row_id(),
                        "Posted": False,
                    }
                )
                old = int(values.get("JournalNum") or 0)
                number = self._next_journal_num(values["BookID"], year, values["JournalCode"])
                values["JournalNum"] = number
                assigned[old] = number
                self.heads.insert(self.state.stamp(self.heads, values))
                touched.append(self._head_key(values))
            elif mod == "U":
                key = self._head_key(values)
                if self.heads.stored(key) is None:
                    raise business("Journal not found.", "GLJrnHed", "JournalNum")
                allowed = {
                    k: v
                    for k, v in values.items()
                    if k in ("Description", "CommentText", "Reverse", "ReverseDate")
                }
                self.heads.update(key, self.state.stamp(self.heads, allowed))
                touched.append(key)
            elif mod == "D":
                key = self._head_key(values)
                for line in self.lines.where(JournalNum=key[5], JournalCode=key[4]):
                    self.lines.delete(self.lines.key_of(line))
                if self.heads.stored(key) is not None:
                    self.heads.delete(key)
        for given in ds.get("GLJrnDtlMnl", []):
            mod = row_mod(given)
            if not mod:
                continue
            values = read_row(LINE, given, "GLJrnDtlMnl")
            values["Company"] = COMPANY
            number = int(values.get("JournalNum") or 0)
            values["JournalNum"] = assigned.get(number, number)
            self._write_line(mod, values)
            touched.append(self._head_key(values))
        heads: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        for key in dict.fromkeys(touched):
            head = self.heads.get(key)
            if head is None:
                continue
            self._retotal(key)
            heads.append(write_row(HEAD, self.heads.get(key) or head))
            lines.extend(write_row(LINE, line) for line in self._lines_of(key))
        ds["GLJrnHed"] = heads
        ds["GLJrnDtlMnl"] = lines
        return {"parameters": {"ds": ds}}

    def _lines_of(self, key: Key) -> list[Mapping[str, Any]]:
        _company, book, year, _suffix, code, number, _calendar = key
        return self.lines.where(BookID=book, FiscalYear=year, JournalCode=code, JournalNum=number)

    def _retotal(self, key: Key) -> None:
        lines = self._lines_of(key)
        debit = sum((line["DebitAmount"] for line in lines), _ZERO)
        credit = sum((line["CreditAmount"] for line in lines), _ZERO)
        self.heads.update(
            key,
            {
                "TotDebit": debit,
                "TotCredit": credit,
                "DispTotDebit": debit,
                "DispTotCredit": credit,
                "Balance": debit - credit,
            },
        )

    def _resolve_account(self, values: dict[str, Any]) -> str:
        account = str(values.get("GLAccount") or "").strip()
        if not account:
            segments = [str(values.get(f"SegValue{n}") or "") for n in (1, 2, 3)]
            if all(segments):
                account = "|".join(segments)
        if not account:
            raise business("A GL account is required.", "GLJrnDtlMnl", "GLAccount")
        gl = self.state.table("GLAccounts").get((COMPANY, COA_CODE, account))
        if gl is None or not gl["Active"]:
            raise business(f"GL Account {account} is not valid.", "GLJrnDtlMnl", "GLAccount")
        values.update(
            {
                "GLAccount": account,
                "SegValue1": gl["SegValue1"],
                "SegValue2": gl["SegValue2"],
                "SegValue3": gl["SegValue3"],
                "GLAcctDisp": gl["GLAcctDispGLAcctDisp"],
                "GLAccountAccountDesc": gl["AccountDesc"],
            }
        )
        return account

    def _amounts(self, values: dict[str, Any]) -> None:
        debit: Decimal = values.get("TotDebit") or _ZERO
        credit: Decimal = values.get("TotCredit") or _ZERO
        if debit < 0 or credit < 0:
            raise business(
                "Debit and credit amounts must not be negative.", "GLJrnDtlMnl", "TotDebit"
            )
        if debit and credit:
            raise business(
                "A journal line cannot have both a debit and a credit amount.",
                "GLJrnDtlMnl",
                "TotDebit",
            )
        if not debit and not credit:
            amount: Decimal = values.get("TransAmt") or _ZERO
            debit, credit = (amount, _ZERO) if amount >= 0 else (_ZERO, -amount)
        values.update(
            {
                "TotDebit": debit,
                "TotCredit": credit,
                "DebitAmount": debit,
                "CreditAmount": credit,
                "TransAmt": debit - credit,
                "DocTransAmt": debit - credit,
            }
        )

    def _write_line(self, mod: str, values: dict[str, Any]) -> None:
        head_key = self._head_key(values)
        head = self.heads.get(head_key)
        if head is None:
            raise business(
                f"Journal {values.get('JournalNum')} not found; save the journal header first.",
                "GLJrnDtlMnl",
                "JournalNum",
            )
        if mod == "D":
            key = self.lines.key_of(values)
            if self.lines.stored(key) is not None:
                self.lines.delete(key)
            return
        self._resolve_account(values)
        self._amounts(values)
        values.update(
            {
                "GroupID": head["GroupID"],
                "FiscalPeriod": head["FiscalPeriod"],
                "JEDate": values.get("JEDate") or head["JEDate"],
                "CurrencyCode": CURRENCY,
                "COACode": COA_CODE,
                "Posted": False,
            }
        )
        if mod == "A":
            existing = [int(line["JournalLine"]) for line in self._lines_of(head_key)]
            values["JournalLine"] = max(existing, default=0) + 1
            values["SysRowID"] = self.state.new_row_id()
            values["CreateDate"] = self.state.today()
            self.lines.insert(self.state.stamp(self.lines, values))
            return
        key = self.lines.key_of(values)
        if self.lines.stored(key) is None:
            raise business("Journal line not found.", "GLJrnDtlMnl", "JournalLine")
        self.lines.update(key, self.state.stamp(self.lines, values))

    def get_new_line(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        key: Key = (
            COMPANY,
            call.text("bookID"),
            call.integer("fiscalYear"),
            call.text("fiscalYearSuffix"),
            call.text("journalCode"),
            call.integer("journalNum"),
            FISCAL_CALENDAR_ID,
        )
        head = self.heads.get(key)
        if head is None:
            raise business(
                f"Journal {key[5]} not found; save the journal header before adding lines.",
                "GLJrnDtlMnl",
                "JournalNum",
            )
        for table in _EMPTY_ENTRY_DS:
            ds.setdefault(table, [])
        ds["GLJrnDtlMnl"].append(
            write_row(
                LINE,
                {
                    "Company": COMPANY,
                    "BookID": key[1],
                    "FiscalYear": key[2],
                    "FiscalYearSuffix": key[3],
                    "JournalCode": key[4],
                    "JournalNum": key[5],
                    "JournalLine": call.integer("journalLine"),
                    "FiscalCalendarID": FISCAL_CALENDAR_ID,
                    "FiscalPeriod": head["FiscalPeriod"],
                    "JEDate": head["JEDate"],
                    "GroupID": head["GroupID"],
                    "CurrencyCode": CURRENCY,
                    "COACode": COA_CODE,
                },
                "A",
            )
        )
        return {"parameters": {"ds": ds}}

    def _line_in(self, ds: dict[str, list[dict[str, Any]]], number: int) -> dict[str, Any]:
        for row in ds.get("GLJrnDtlMnl", []):
            if row.get("JournalLine") == number:
                return row
        raise business(
            f"Journal line {number} is not in the dataset.", "GLJrnDtlMnl", "JournalLine"
        )

    def change_account(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        row = self._line_in(ds, call.integer("iLineNum"))
        values = read_row(LINE, row, "GLJrnDtlMnl")
        self._resolve_account(values)
        for name in (
            "GLAccount",
            "SegValue1",
            "SegValue2",
            "SegValue3",
            "GLAcctDisp",
            "GLAccountAccountDesc",
        ):
            row[name] = values[name]
        return {"parameters": {"ds": ds, "currCodeChanged": False}}

    def check_line(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        row = self._line_in(ds, call.integer("iLineNum"))
        values = read_row(LINE, row, "GLJrnDtlMnl")
        self._resolve_account(values)
        self._amounts(values)
        return {"parameters": {"ds": ds, "opMessage": ""}}

    def get_by_group(self, call: Call) -> dict[str, Any]:
        group_id = call.text("GroupID")
        self._group(group_id, "GLJrnHed")
        ds: dict[str, list[dict[str, Any]]] = {table: [] for table in _EMPTY_ENTRY_DS}
        ds["GLJrnHed"] = [write_row(HEAD, head) for head in self.heads.where(GroupID=group_id)]
        ds["GLJrnDtlMnl"] = [write_row(LINE, line) for line in self.lines.where(GroupID=group_id)]
        return {"returnObj": ds}
