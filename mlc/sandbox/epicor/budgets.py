"""Account budgets: ``Erp.BO.AccountBudgetSvc`` (``GLBudgetHd`` header, ``GLBudgetDtl`` periods).

Both ways a client writes budgets are served, with the same rules:

- OData: ``POST AccountBudgets`` / ``POST GLBudgetDtls`` create (201 + row), ``PATCH …(keys)``
  updates (204), ``DELETE …(keys)`` (204) [SNO verb → method map]. A detail needs its header.
- Methods: ``GetByID`` (GET with query parameters, or POST), ``GetNewGLBudgetHd``,
  ``GetNewGLBudgetDtl``, ``Update {ds}`` (rows by ``RowMod``) and ``UpdateExt {ds,
  continueProcessingOnError, rollbackParentOnChildError}`` — the upsert: a row whose key exists is
  updated, otherwise added. ``UpdateExt`` answers ``returnObj.BOUpdError`` and
  ``parameters.errorsOccurred`` [SNO, ALE]; with ``continueProcessingOnError`` false the first
  error fails the call (400) and nothing is written.

Rules: the balance account must be an active GL account of the chart, the budget code must exist
and be active, the period must be 1-12, the fiscal year must be in the balance calendar or the
next year (budgets are entered ahead). The header's ``TotalBudgetAmt`` is the sum of its periods.
``BudgetAmt`` is signed: "credits negative, debits positive" [SNO field doc].

Closed periods do not block budgets: period closing stops postings to the ledger, and budget
amounts are not postings (decision; Epicor's own rule is unverified).

Every write call counts once in the domain counter ``budget_writes``.

Cost. A header's total is recomputed after every row written to it, as before (each changed total
is a header write with its own ``SysRevID``, which clients see), but from the header's own periods
through the details' index, not a scan of every period. All-or-nothing calls hold a savepoint of
both tables (an undo log of the rows they touch) instead of a copy of the tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from mlc.sandbox.common.chart import BOOK_ID, COA_CODE, COMPANY, CURRENCY, FISCAL_CALENDAR_ID
from mlc.sandbox.common.counters import RequestCounters
from mlc.sandbox.epicor.errors import (
    DUPLICATE_EXCEPTION,
    Detail,
    EpicorError,
    business,
    not_found,
)
from mlc.sandbox.epicor.methods import Call, Method, read_row, row_mod, write_row
from mlc.sandbox.epicor.savepoint import Savepoint
from mlc.sandbox.epicor.schema import row_type
from mlc.sandbox.epicor.state import EpicorState
from mlc.sandbox.epicor.tables import Key, Table

HEADER = row_type("GLBudgetHd")
DETAIL = row_type("GLBudgetDtl")
SERVICE = "Erp.BO.AccountBudgetSvc"
_ZERO = Decimal(0)
_Saved = tuple[Savepoint, Savepoint]


class Budgets:
    def __init__(self, state: EpicorState, counters: RequestCounters) -> None:
        self.state = state
        self.counters = counters

    @property
    def headers(self) -> Table:
        return self.state.table("AccountBudgets")

    @property
    def details(self) -> Table:
        return self.state.table("GLBudgetDtls")

    def methods(self) -> dict[tuple[str, str], Method]:
        return {
            (SERVICE, "GetByID"): self.get_by_id,
            (SERVICE, "GetNewGLBudgetHd"): self.get_new_header,
            (SERVICE, "GetNewGLBudgetDtl"): self.get_new_detail,
            (SERVICE, "Update"): self.update,
            (SERVICE, "UpdateExt"): self.update_ext,
        }

    # -- rules -----------------------------------------------------------------------------

    def _defaults(self, values: dict[str, Any], table: str) -> dict[str, Any]:
        values.setdefault("Company", COMPANY)
        values.setdefault("BookID", BOOK_ID)
        values.setdefault("BalanceType", "D")
        values.setdefault("FiscalYearSuffix", "")
        values.setdefault("FiscalCalendarID", FISCAL_CALENDAR_ID)
        if values["Company"] != COMPANY:
            raise business(f"Company {values['Company']} is not valid.", table, "Company")
        account = str(values.get("BalanceAcct", ""))
        gl = self.state.table("GLAccounts").get((COMPANY, COA_CODE, account))
        if gl is None or not gl["Active"]:
            raise business(f"GL Account {account} is not valid.", table, "BalanceAcct")
        code = str(values.get("BudgetCodeID", ""))
        budget_code = self.state.table("BudgetCodes").get((COMPANY, code))
        if budget_code is None or budget_code["Inactive"]:
            raise business(f"Budget code {code!r} is not valid.", table, "BudgetCodeID")
        years = self.state.universe.years
        year = values.get("FiscalYear")
        if not isinstance(year, int) or not years or not years[0] <= year <= years[-1] + 1:
            raise business(
                f"Fiscal year {year} is not defined for fiscal calendar {FISCAL_CALENDAR_ID}.",
                table,
                "FiscalYear",
            )
        if values["BookID"] != BOOK_ID or values["BalanceType"] != "D":
            raise business("Only book MAIN detail budgets (BalanceType D) exist.", table)
        values.update(
            {
                "SegValue1": gl["SegValue1"],
                "SegValue2": gl["SegValue2"],
                "SegValue3": gl["SegValue3"],
                "COACode": COA_CODE,
                "CurrencyCode": CURRENCY,
                "GLAcctDispGLAcctDisp": gl["GLAcctDispGLAcctDisp"],
                "GLAcctDispAccountDesc": gl["AccountDesc"],
                "BudgetCodeBudgetCodeDesc": budget_code["BudgetCodeDesc"],
                "BudgetCodeIsDefault": budget_code["IsDefault"],
            }
        )
        return values

    def header_key_of(self, values: Mapping[str, Any]) -> Key:
        return self.headers.key_of(values)

    def _retotal(self, header_key: Key) -> None:
        """Keep the header's total equal to its periods; a changed total is a header write."""
        stored = self.headers.stored(header_key)
        if stored is None:
            return
        match = dict(zip(self.headers.key_fields, header_key, strict=True))
        total = sum((row["BudgetAmt"] for row in self.details.where(**match)), _ZERO)
        if self.headers.view(stored)["TotalBudgetAmt"] == total:
            return
        self.headers.update(
            header_key,
            self.state.stamp(
                self.headers,
                {"TotalBudgetAmt": total, "DispTotalBudgetAmt": total, "BudgetAmt": total},
            ),
        )

    # -- single-row operations (OData and methods) -----------------------------------------

    def create_header(self, given: Mapping[str, Any]) -> Mapping[str, Any]:
        values = self._defaults(dict(given), "GLBudgetHd")
        key = self.header_key_of(values)
        if self.headers.stored(key) is not None:
            raise EpicorError(
                409,
                "Account budget already exists.",
                DUPLICATE_EXCEPTION,
                (Detail("Account budget already exists.", "GLBudgetHd"),),
            )
        values["SysRowID"] = values.get("SysRowID") or self.state.new_row_id()
        values.setdefault("TotalBudgetAmt", _ZERO)
        row = self.headers.insert(self.state.stamp(self.headers, values))
        self._retotal(key)
        return self.headers.get(key) or row

    def update_header(self, key: Key, changes: Mapping[str, Any]) -> Mapping[str, Any]:
        if self.headers.stored(key) is None:
            raise not_found("Record not found.", "GLBudgetHd")
        allowed = {
            k: v
            for k, v in changes.items()
            if k in ("BudgetPerCode", "CashFlow", "Statistical", "StatUOMCode")
        }
        self.headers.update(key, self.state.stamp(self.headers, allowed))
        self._retotal(key)
        return self.headers.get(key) or {}

    def delete_header(self, key: Key) -> None:
        if self.headers.stored(key) is None:
            raise not_found("Record not found.", "GLBudgetHd")
        for row in self.details.where(**dict(zip(self.headers.key_fields, key, strict=True))):
            self.details.delete(self.details.key_of(row))
        self.headers.delete(key)

    def _detail_values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        values = self._defaults(dict(given), "GLBudgetDtl")
        period = values.get("FiscalPeriod")
        if not isinstance(period, int) or not 1 <= period <= 12:
            raise business(f"Fiscal period {period} is not valid.", "GLBudgetDtl", "FiscalPeriod")
        if self.headers.stored(self.header_key_of(values)) is None:
            raise business(
                "The account budget header does not exist; create it before its periods.",
                "GLBudgetDtl",
                "BalanceAcct",
            )
        return values

    def create_detail(self, given: Mapping[str, Any]) -> Mapping[str, Any]:
        values = self._detail_values(given)
        key = self.details.key_of(values)
        if self.details.stored(key) is not None:
            raise EpicorError(
                409,
                "Account budget period already exists.",
                DUPLICATE_EXCEPTION,
                (Detail("Account budget period already exists.", "GLBudgetDtl"),),
            )
        values["SysRowID"] = values.get("SysRowID") or self.state.new_row_id()
        values.setdefault("BudgetAmt", _ZERO)
        self.details.insert(self.state.stamp(self.details, values))
        self._retotal(self.header_key_of(values))
        return self.details.get(key) or {}

    def update_detail(self, key: Key, changes: Mapping[str, Any]) -> Mapping[str, Any]:
        stored = self.details.stored(key)
        if stored is None:
            raise not_found("Record not found.", "GLBudgetDtl")
        allowed = {k: v for k, v in changes.items() if k in ("BudgetAmt", "BudgetStatAmt")}
        self.details.update(key, self.state.stamp(self.details, allowed))
        self._retotal(self.header_key_of(self.details.view(stored)))
        return self.details.get(key) or {}

    def delete_detail(self, key: Key) -> None:
        stored = self.details.stored(key)
        if stored is None:
            raise not_found("Record not found.", "GLBudgetDtl")
        header_key = self.header_key_of(self.details.view(stored))
        self.details.delete(key)
        self._retotal(header_key)

    # -- methods -----------------------------------------------------------------------------

    def _tableset(self, header_key: Key) -> dict[str, list[dict[str, Any]]]:
        header = self.headers.get(header_key)
        match = dict(zip(self.headers.key_fields, header_key, strict=True))
        return {
            "GLBudgetHd": [write_row(HEADER, header)] if header is not None else [],
            "GLBudgetDtl": [write_row(DETAIL, row) for row in self.details.where(**match)],
        }

    def get_by_id(self, call: Call) -> dict[str, Any]:
        key: Key = (
            COMPANY,
            call.text("bookID"),
            call.text("balanceAcct"),
            call.text("balanceType"),
            call.integer("fiscalYear"),
            call.text("fiscalYearSuffix"),
            call.text("fiscalCalendarID"),
            call.text("budgetCodeID"),
        )
        if self.headers.get(key) is None:
            raise business("Record not found.", "GLBudgetHd")
        return {"returnObj": self._tableset(key)}

    def get_new_header(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        ds.setdefault("GLBudgetHd", []).append(
            write_row(
                HEADER,
                {
                    "Company": COMPANY,
                    "BookID": call.text("bookID"),
                    "BalanceAcct": call.text("balanceAcct"),
                    "BalanceType": call.text("balanceType"),
                    "FiscalYear": call.integer("fiscalYear"),
                    "FiscalYearSuffix": call.text("fiscalYearSuffix"),
                    "FiscalCalendarID": call.text("fiscalCalendarID"),
                    "COACode": COA_CODE,
                    "CurrencyCode": CURRENCY,
                },
                "A",
            )
        )
        ds.setdefault("GLBudgetDtl", [])
        return {"parameters": {"ds": ds}}

    def get_new_detail(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        ds.setdefault("GLBudgetHd", [])
        ds.setdefault("GLBudgetDtl", []).append(
            write_row(
                DETAIL,
                {
                    "Company": COMPANY,
                    "BookID": call.text("bookID"),
                    "BalanceAcct": call.text("balanceAcct"),
                    "BalanceType": call.text("balanceType"),
                    "FiscalYear": call.integer("fiscalYear"),
                    "FiscalYearSuffix": call.text("fiscalYearSuffix"),
                    "FiscalPeriod": call.integer("fiscalPeriod"),
                    "FiscalCalendarID": call.text("fiscalCalendarID"),
                    "COACode": COA_CODE,
                    "CurrencyCode": CURRENCY,
                },
                "A",
            )
        )
        return {"parameters": {"ds": ds}}

    def _apply(self, table: str, values: dict[str, Any], mod: str, upsert: bool) -> Key:
        full = {"Company": COMPANY, **self._key_defaults(), **values}
        is_header = table == "GLBudgetHd"
        target = self.headers if is_header else self.details
        key = target.key_of(full)
        exists = target.stored(key) is not None
        if mod == "D":
            (self.delete_header if is_header else self.delete_detail)(key)
        elif exists and (upsert or mod == "U"):
            (self.update_header if is_header else self.update_detail)(key, full)
        elif mod == "A" or upsert:
            (self.create_header if is_header else self.create_detail)(full)
        else:
            raise business("Record not found.", table)
        return self.header_key_of(full)

    def _key_defaults(self) -> dict[str, Any]:
        return {
            "BookID": BOOK_ID,
            "BalanceType": "D",
            "FiscalYearSuffix": "",
            "FiscalCalendarID": FISCAL_CALENDAR_ID,
        }

    def _rows(self, ds: dict[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any], str]]:
        return [
            (table, read_row(kind, given, table), row_mod(given))
            for table, kind in (("GLBudgetHd", HEADER), ("GLBudgetDtl", DETAIL))
            for given in ds.get(table, [])
        ]

    @contextmanager
    def _savepoint(self) -> Iterator[_Saved]:
        """Savepoints of both tables for one call, for :meth:`_restore` and
        :meth:`_rollback_parents`."""
        with self.headers.savepoint() as headers, self.details.savepoint() as details:
            yield headers, details

    def _restore(self, saved: _Saved) -> None:
        for table, savepoint in zip((self.headers, self.details), saved, strict=True):
            table.roll_back(savepoint)

    def update(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        touched: list[Key] = []
        with self._savepoint() as saved:
            try:
                for table, values, mod in self._rows(ds):
                    if mod in ("A", "U", "D"):
                        touched.append(self._apply(table, values, mod, upsert=False))
            except EpicorError:
                self._restore(saved)
                raise
            finally:
                self.counters.bump("budget_writes")
        return {"parameters": {"ds": self._tablesets(touched)}}

    def _tablesets(self, keys: list[Key]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {"GLBudgetHd": [], "GLBudgetDtl": []}
        for key in dict.fromkeys(keys):
            part = self._tableset(key)
            out["GLBudgetHd"] += part["GLBudgetHd"]
            out["GLBudgetDtl"] += part["GLBudgetDtl"]
        return out

    def update_ext(self, call: Call) -> dict[str, Any]:
        ds = call.dataset()
        keep_going = call.flag("continueProcessingOnError")
        rollback_parent = call.flag("rollbackParentOnChildError")
        self.counters.bump("budget_writes")
        errors: list[dict[str, Any]] = []
        failed_parents: set[Key] = set()
        touched: list[Key] = []
        with self._savepoint() as saved:
            for table, values, mod in self._rows(ds):
                try:
                    touched.append(self._apply(table, values, mod or "A", upsert=mod != "D"))
                except EpicorError as exc:
                    if not keep_going:
                        self._restore(saved)
                        raise
                    errors.append(
                        {
                            "TableName": table,
                            "ErrorLevel": "Error",
                            "ErrorType": exc.error_type,
                            "ErrorText": exc.message,
                            "ErrorSysRowID": str(values.get("SysRowID", "")),
                            "SysRowID": str(values.get("SysRowID", "")),
                            "RowMod": mod,
                        }
                    )
                    if table == "GLBudgetDtl":
                        failed_parents.add(
                            self.header_key_of(
                                {"Company": COMPANY, **self._key_defaults(), **values}
                            )
                        )
            if rollback_parent and failed_parents:
                self._rollback_parents(saved, failed_parents)
        return {
            "returnObj": {"BOUpdError": errors},
            "parameters": {"ds": self._tablesets(touched), "errorsOccurred": bool(errors)},
        }

    def _rollback_parents(self, saved: _Saved, parents: set[Key]) -> None:
        """Each of ``parents`` (header keys) with its periods back to what ``saved`` recorded.

        Parent by parent, its current periods are removed and the recorded ones added back in
        their recorded order, then its header likewise; other parents keep what the call wrote.
        """
        old_headers = saved[0].snapshot()
        current: dict[Key, list[Key]] = {parent: [] for parent in parents}
        for key in self.details.rows:
            keys = current.get(self._parent_of(key))
            if keys is not None:
                keys.append(key)
        old: dict[Key, list[dict[str, Any]]] = {parent: [] for parent in parents}
        for key, row in saved[1].snapshot().items():
            rows = old.get(self._parent_of(key))
            if rows is not None:
                rows.append(row)
        for parent in parents:
            for key in current[parent]:
                self.details.delete(key)
            for row in old[parent]:
                self.details.insert(row)
            if parent in self.headers.rows:
                self.headers.delete(parent)
            if parent in old_headers:
                self.headers.insert(old_headers[parent])

    def _parent_of(self, detail_key: Key) -> Key:
        company, book, account, balance_type, year, suffix, _period, calendar, code = detail_key
        return (company, book, account, balance_type, year, suffix, calendar, code)
