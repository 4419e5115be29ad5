"""Typed rows of the Epicor business objects the flows read and write.

Each row type is a ``msgspec.Struct`` whose field names are Epicor's own column names, PascalCase
and quirks included (``GLAccount1`` in the ``GLAccounts`` entity set, ``VendorNumVendorID``
joined columns) [reference/epicor.md §1, §4]. Keeping Epicor's spelling makes every field
greppable against Epicor's documentation and lets a row type double as its own ``$select``: the
client asks for exactly these columns (:func:`select_of`), never the 200 to 500 column default rows.

Decoding rules:

- Columns not declared here are ignored (``forbid_unknown_fields`` is off), so a server that adds
  columns, or a tenant's ``*_c`` UD columns, never breaks a pull.
- Every declared column is required: a column missing from a response is a decode error naming
  the row and the column, never a silent zero in a finance amount.
- Amounts are ``Decimal``: JSON numbers and the numeric strings v1 BAQs send both decode exactly.
- Date columns are ``datetime | None``: Epicor writes ``2025-01-31T00:00:00`` (server-local, no
  offset) and ``null`` for an empty date.

GL account strings (``GLAccount``, ``BalanceAcct``) hold the controlled segment values in physical
segment order separated by ``|`` (``1000|10|00``) [reference/epicor.md §4]; :func:`segments`
splits them. Only :class:`GLAccount` carries ``SegValue1..20`` (by segment number), for the
chart alignment that needs them; the fact rows carry the account string only, which keeps the
hot path (balances, AP lines) small.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec


class Row(msgspec.Struct, kw_only=True):
    """Base of every Epicor row type (forward compatible: unknown columns are ignored)."""


def select_of(row_type: type[msgspec.Struct]) -> tuple[str, ...]:
    """The wire names of ``row_type``'s columns, in declaration order (its ``$select``)."""
    return tuple(field.encode_name for field in msgspec.structs.fields(row_type))


def segments(account: str) -> tuple[str, ...]:
    """``"1000|10|00"`` → ``("1000", "10", "00")``."""
    return tuple(account.split("|")) if account else ()


# ---- Chart of accounts: Erp.BO.GLAccountSvc, Erp.BO.COASegValuesSvc -------------------------


class GLAccount(Row, kw_only=True):
    """``Erp.BO.GLAccountSvc/GLAccounts``; key ``(Company, COACode, GLAccount1)``.

    The entity set names the account column ``GLAccount1`` (a column named like its table gets
    suffix ``1`` in the OData entity); method tablesets keep ``GLAccount`` [SNO].
    """

    Company: str
    COACode: str
    GLAccount1: str
    AccountDesc: str
    Active: bool
    EffFrom: datetime | None
    EffTo: datetime | None
    GLAcctDispGLAcctDisp: str
    SegValue1: str
    SegValue2: str
    SegValue3: str
    SegValue4: str
    SegValue5: str
    SegValue6: str
    SegValue7: str
    SegValue8: str
    SegValue9: str
    SegValue10: str
    SegValue11: str
    SegValue12: str
    SegValue13: str
    SegValue14: str
    SegValue15: str
    SegValue16: str
    SegValue17: str
    SegValue18: str
    SegValue19: str
    SegValue20: str
    SysRevID: int

    def segment_value(self, number: int) -> str:
        """``SegValue{number}`` (1-based segment number)."""
        if not 1 <= number <= 20:
            raise ValueError(f"Epicor segment numbers run 1..20, got {number}")
        value: str = getattr(self, f"SegValue{number}")
        return value


class COASegValue(Row, kw_only=True):
    """``Erp.BO.COASegValuesSvc/COASegValues``; key ``(Company, COACode, SegmentNbr, SegmentCode)``.

    Cost centres are the values of a non-natural segment (``SegmentNbr`` ≥ 2); which one is
    chart-specific (``COASegmentSegmentName``).
    """

    Company: str
    COACode: str
    SegmentNbr: int
    SegmentCode: str
    SegmentName: str
    SegmentDesc: str
    ActiveFlag: bool
    EffectiveFrom: datetime | None
    EffectiveTo: datetime | None
    Category: str
    NormalBalance: str
    COASegmentSegmentName: str
    SysRevID: int


# ---- Balances: Erp.BO.GLPeriodBalSearchSvc --------------------------------------------------


class GLPeriodBal(Row, kw_only=True):
    """``Erp.BO.GLPeriodBalSearchSvc/GLPeriodBalSearches``.

    Key ``(Company, BookID, BalanceAcct, BalanceType, FiscalYear, FiscalYearSuffix, FiscalPeriod,
    FiscalCalendarID)``. ``BalanceType`` is ``S``/``D``/``B``; ``OpenBalance`` is only set on
    period 0. The row has no modified-date column [reference/epicor.md §3]: delta pulls filter
    on ``SysRevID`` (see :mod:`mlc.epicor.delta`) or go through a BAQ (:class:`GLPeriodBalBaq`).
    """

    Company: str
    BookID: str
    BalanceAcct: str
    BalanceType: str
    FiscalYear: int
    FiscalYearSuffix: str
    FiscalPeriod: int
    FiscalCalendarID: str
    COACode: str
    BalanceAcctDisp: str
    BalanceAmt: Decimal
    DebitAmt: Decimal
    CreditAmt: Decimal
    OpenBalance: Decimal
    BookCurrencyCode: str
    SysRevID: int


class GLPeriodBalBaq(Row, kw_only=True):
    """A row of the GL-balances BAQ (``MLC-GLBalances`` in the sandbox): ``Table_Field`` columns.

    The BAQ is the customer's (BAQs are tenant-defined); the connector expects these columns:
    the detail balance key and amounts, ``GLPeriodBal_SysRevID`` (the exact change marker), and
    ``Calculated_LastChange``, the time the balance was last written. ``GLPeriodBal`` has no
    modified date of its own, so on a real tenant that column needs the customer's help (a data
    directive stamping a UD date on each write); ``SysRevID`` needs nothing. Decimals decode from
    JSON numbers or from the strings v1 BAQs sent.
    """

    GLPeriodBal_Company: str
    GLPeriodBal_BookID: str
    GLPeriodBal_BalanceAcct: str
    GLPeriodBal_FiscalYear: int
    GLPeriodBal_FiscalPeriod: int
    GLPeriodBal_BalanceAmt: Decimal
    GLPeriodBal_DebitAmt: Decimal
    GLPeriodBal_CreditAmt: Decimal
    GLPeriodBal_SysRevID: int
    Calculated_LastChange: datetime | None


# ---- AP: Erp.BO.APInvoiceSvc, Erp.BO.VendorSvc -----------------------------------------------


class APInvHed(Row, kw_only=True):
    """``Erp.BO.APInvoiceSvc/APInvoices``; key ``(Company, VendorNum, InvoiceNum)``."""

    Company: str
    VendorNum: int
    InvoiceNum: str
    InvoiceDate: datetime | None
    ApplyDate: datetime | None
    DueDate: datetime | None
    FiscalYear: int
    FiscalPeriod: int
    InvoiceAmt: Decimal
    DocInvoiceAmt: Decimal
    InvoiceBal: Decimal
    CurrencyCode: str
    DebitMemo: bool
    Posted: bool
    GroupID: str
    Description: str
    VendorNumVendorID: str
    VendorNumName: str
    ChangeDate: datetime | None
    SysRevID: int


class APInvDtl(Row, kw_only=True):
    """``Erp.BO.APInvoiceSvc/APInvDtls``; key ``(Company, VendorNum, InvoiceNum, InvoiceLine)``.

    ``GLAccount`` is the line's expense account (``|``-separated segments); ``ExtCost`` is in
    the book currency, ``DocExtCost`` in the invoice currency.
    """

    Company: str
    VendorNum: int
    InvoiceNum: str
    InvoiceLine: int
    LineType: str
    Description: str
    PartNum: str
    VendorQty: Decimal
    UnitCost: Decimal
    ExtCost: Decimal
    DocExtCost: Decimal
    PONum: int
    POLine: int
    GLAccount: str
    ChangeDate: datetime | None
    SysRevID: int


class Vendor(Row, kw_only=True):
    """``Erp.BO.VendorSvc/Vendors``; key ``(Company, VendorNum)``; no modified-date column."""

    Company: str
    VendorNum: int
    VendorID: str
    Name: str
    Address1: str
    Address2: str
    Address3: str
    City: str
    State: str
    ZIP: str
    Country: str
    TermsCode: str
    CurrencyCode: str
    GroupCode: str
    TaxPayerID: str
    EMailAddress: str
    Inactive: bool
    Approved: bool
    PayHold: bool
    SysRevID: int


# ---- Budgets: Erp.BO.BudgetCodeSvc, Erp.BO.AccountBudgetSvc ----------------------------------


class BudgetCode(Row, kw_only=True):
    """``Erp.BO.BudgetCodeSvc/BudgetCodes``; key ``(Company, BudgetCodeID)``."""

    Company: str
    BudgetCodeID: str
    BudgetCodeDesc: str
    IsDefault: bool
    Inactive: bool
    SysRevID: int


class GLBudgetHd(Row, kw_only=True):
    """``Erp.BO.AccountBudgetSvc/AccountBudgets``.

    Key ``(Company, BookID, BalanceAcct, BalanceType, FiscalYear, FiscalYearSuffix,
    FiscalCalendarID, BudgetCodeID)``.
    """

    Company: str
    BookID: str
    BalanceAcct: str
    BalanceType: str
    FiscalYear: int
    FiscalYearSuffix: str
    FiscalCalendarID: str
    BudgetCodeID: str
    COACode: str
    TotalBudgetAmt: Decimal
    BudgetPerCode: str
    SysRevID: int


class GLBudgetDtl(Row, kw_only=True):
    """``Erp.BO.AccountBudgetSvc/GLBudgetDtls``.

    Key ``(Company, BookID, BalanceAcct, BalanceType, FiscalYear, FiscalYearSuffix, FiscalPeriod,
    FiscalCalendarID, BudgetCodeID)``. ``BudgetAmt``: debits positive, credits negative.
    """

    Company: str
    BookID: str
    BalanceAcct: str
    BalanceType: str
    FiscalYear: int
    FiscalYearSuffix: str
    FiscalPeriod: int
    FiscalCalendarID: str
    BudgetCodeID: str
    COACode: str
    BudgetAmt: Decimal
    BudgetStatAmt: Decimal
    SysRevID: int


# ---- Journals: Erp.BO.GLJrnDtlSvc (posted), Erp.BO.GLJournalEntrySvc (entry) ----------------


class GLJrnDtl(Row, kw_only=True):
    """``Erp.BO.GLJrnDtlSvc/GLJrnDtls``: journal detail lines, posted or not.

    Key ``(Company, BookID, FiscalYear, FiscalYearSuffix, JournalCode, JournalNum,
    JournalLine)``. ``Description`` and ``CommentText`` carry the connector's posting reference,
    which is how a retried posting is found before it is sent again.
    """

    Company: str
    BookID: str
    FiscalYear: int
    FiscalYearSuffix: str
    JournalCode: str
    JournalNum: int
    JournalLine: int
    FiscalPeriod: int
    JEDate: datetime | None
    GroupID: str
    Posted: bool
    SourceModule: str
    GLAccount: str
    DebitAmount: Decimal
    CreditAmount: Decimal
    BookDebitAmount: Decimal
    BookCreditAmount: Decimal
    CurrencyCode: str
    Description: str
    CommentText: str
    SysRevID: int


class GLJrnGrp(Row, kw_only=True):
    """``Erp.BO.GLJrnGrpSvc/GLJrnGrps``: journal groups, keyed ``(Company, GroupID)``.

    ``GroupID`` is assigned by the user (the connector: deterministic per posting); posting every
    journal of a group deletes the group [SNO].
    """

    Company: str
    GroupID: str
    BookID: str
    JournalCode: str
    JEDate: datetime | None
    FiscalYear: int
    FiscalPeriod: int
    Posted: bool
    SysRevID: int


class GLJrnHed(Row, kw_only=True):
    """``Erp.BO.GLJournalEntrySvc/GLJournalEntries``: unposted journal headers.

    Key ``(Company, BookID, FiscalYear, FiscalYearSuffix, JournalCode, JournalNum,
    FiscalCalendarID)``. Posting deletes the header [SNO]; posted lines stay in
    :class:`GLJrnDtl`.
    """

    Company: str
    BookID: str
    FiscalYear: int
    FiscalYearSuffix: str
    JournalCode: str
    JournalNum: int
    FiscalCalendarID: str
    FiscalPeriod: int
    GroupID: str
    Description: str
    CommentText: str
    JEDate: datetime | None
    TotDebit: Decimal
    TotCredit: Decimal
    Posted: bool
    SysRevID: int
