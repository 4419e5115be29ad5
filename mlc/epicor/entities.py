"""Entity sets: *what* a pull reads — service, set name, key, modified-date column, row type.

An :class:`EntitySet` is to the client what a stream is to a Singer tap: it names the data and
its identity, while :mod:`mlc.epicor.paging` decides how to walk it and :mod:`mlc.epicor.auth`
how to sign the requests. Keys are listed in Epicor's schema key order, which is both the
positional order of ``Set(k1,k2,…)`` addressing and the ``$orderby`` that makes paging stable
[reference/epicor.md §1, §4].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mlc.epicor import rows
from mlc.epicor.delta import CHANGE_DATE, REVISION, Delta
from mlc.epicor.query import Value, check_name
from mlc.epicor.rows import Row, select_of
from mlc.errors import UsageError

R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class EntitySet(Generic[R]):
    """One OData entity set of one Epicor service, read as ``row_type`` rows.

    Child sets (``parent_filtered``): a practitioner found that ``$filter`` on a child set of a
    parent's service is applied to the parent type (the v2 layer calls ``GetRows``, whose first
    where clause is the parent table's). The client copes with both behaviours: a delta filter
    on a column both rows have (``ChangeDate``) then selects changed parents, Epicor stamps a
    parent when its lines change, and the client keeps only the children whose own marker
    passes; keyset paging (a filter on child key columns) is refused for such sets, and a
    ``where`` should only name columns the parent has too.
    """

    service: str
    name: str
    row_type: type[R]
    key: tuple[str, ...]
    #: How a delta pull finds changed rows; ``None`` where the set offers no marker.
    delta: Delta | None = None
    #: Key columns fixed by the URL (the company): left out of keyset predicates.
    scope: tuple[str, ...] = ("Company",)
    #: A child set of its service (``APInvDtls`` of ``APInvoiceSvc``): Epicor may apply a
    #: ``$filter`` to the *parent* row type, answering with every child of the matching parents
    #: [PRAC, reference §3]. See :class:`EntitySet`.
    parent_filtered: bool = False
    select: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        check_name(self.name, "entity set")
        columns = select_of(self.row_type)
        wanted = (*self.key, self.delta.column) if self.delta else self.key
        missing = [name for name in wanted if name not in columns]
        if missing:
            raise ValueError(
                f"{self.service}/{self.name}: {self.row_type.__name__} lacks columns {missing}"
            )
        object.__setattr__(self, "select", columns)

    @property
    def path(self) -> str:
        """``Erp.BO.GLAccountSvc/GLAccounts`` (below ``api/v2/odata/{company}/``)."""
        return f"{self.service}/{self.name}"

    def delta_filter(self, since: Value) -> str:
        """The ``$filter`` clause selecting rows changed since the watermark ``since``."""
        if self.delta is None:
            raise UsageError(f"{self.path} has no modified marker: it can only be pulled whole")
        return self.delta.filter(since)


GL_ACCOUNTS = EntitySet(
    "Erp.BO.GLAccountSvc", "GLAccounts", rows.GLAccount, ("Company", "COACode", "GLAccount1")
)
COA_SEG_VALUES = EntitySet(
    "Erp.BO.COASegValuesSvc",
    "COASegValues",
    rows.COASegValue,
    ("Company", "COACode", "SegmentNbr", "SegmentCode"),
)
GL_PERIOD_BALANCES = EntitySet(
    "Erp.BO.GLPeriodBalSearchSvc",
    "GLPeriodBalSearches",
    rows.GLPeriodBal,
    (
        "Company",
        "BookID",
        "BalanceAcct",
        "BalanceType",
        "FiscalYear",
        "FiscalYearSuffix",
        "FiscalPeriod",
        "FiscalCalendarID",
    ),
    delta=REVISION,
)
AP_INVOICES = EntitySet(
    "Erp.BO.APInvoiceSvc",
    "APInvoices",
    rows.APInvHed,
    ("Company", "VendorNum", "InvoiceNum"),
    delta=CHANGE_DATE,
)
AP_INVOICE_LINES = EntitySet(
    "Erp.BO.APInvoiceSvc",
    "APInvDtls",
    rows.APInvDtl,
    ("Company", "VendorNum", "InvoiceNum", "InvoiceLine"),
    delta=CHANGE_DATE,
    parent_filtered=True,
)
VENDORS = EntitySet("Erp.BO.VendorSvc", "Vendors", rows.Vendor, ("Company", "VendorNum"))
BUDGET_CODES = EntitySet(
    "Erp.BO.BudgetCodeSvc", "BudgetCodes", rows.BudgetCode, ("Company", "BudgetCodeID")
)
_BUDGET_KEY = ("Company", "BookID", "BalanceAcct", "BalanceType", "FiscalYear", "FiscalYearSuffix")
ACCOUNT_BUDGETS = EntitySet(
    "Erp.BO.AccountBudgetSvc",
    "AccountBudgets",
    rows.GLBudgetHd,
    (*_BUDGET_KEY, "FiscalCalendarID", "BudgetCodeID"),
)
BUDGET_DETAILS = EntitySet(
    "Erp.BO.AccountBudgetSvc",
    "GLBudgetDtls",
    rows.GLBudgetDtl,
    (*_BUDGET_KEY, "FiscalPeriod", "FiscalCalendarID", "BudgetCodeID"),
    parent_filtered=True,
)
_JOURNAL_KEY = ("Company", "BookID", "FiscalYear", "FiscalYearSuffix", "JournalCode", "JournalNum")
JOURNAL_LINES = EntitySet(
    "Erp.BO.GLJrnDtlSvc", "GLJrnDtls", rows.GLJrnDtl, (*_JOURNAL_KEY, "JournalLine")
)
JOURNAL_GROUPS = EntitySet("Erp.BO.GLJrnGrpSvc", "GLJrnGrps", rows.GLJrnGrp, ("Company", "GroupID"))
JOURNAL_ENTRIES = EntitySet(
    "Erp.BO.GLJournalEntrySvc",
    "GLJournalEntries",
    rows.GLJrnHed,
    (*_JOURNAL_KEY, "FiscalCalendarID"),
)
