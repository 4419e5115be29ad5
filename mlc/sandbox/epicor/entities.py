"""The emulated services and entity sets: names, row types, keys (in schema order), navigations.

Names and keys come from the live Swagger captured in [SNO] (entity-set paths such as
``GLAccounts_Company_COACode_GLAccount1``). Quirks kept on purpose:

- ``GLAccounts`` is keyed ``(Company, COACode, GLAccount1)``: in the OData entity a column named
  like its table gets a ``1`` suffix [SNO: two GLAccountRow schemas]. Re-checking this in a v2
  ``$metadata`` is listed as unverified in the reference; the emulator follows the captured v2
  Swagger, which has it.
- ``Erp.BO.POSvc`` names its header set ``POes``, and ``PODetails`` is keyed by ``PONUM``
  (upper-case) while the header's field is ``PONum`` [SNO].
- Cost centers are ``COASegValues`` rows of segment 2 of chart ``MAIN``, not a service of their
  own (reference §4).

Child sets and ``$filter``. A practitioner found that filtering a child set through its parent's
service "applied the filter to the parent type" and moved to a search service [PRAC]; the
mechanism fits the v2 layer calling ``GetRows``, whose first where clause is the parent table's
[SNO: ``GetRows(whereClauseOrderHed, whereClauseOrderDtl, …)``]. Unverified elsewhere, it is
emulated (switch ``parent_filter_quirk``, on by default, because it is the harder behaviour): on
``APInvDtls``, ``PODetails``, ``GLBudgetDtls``, ``COASegments`` and ``GLJrnDtlMnls`` a
``$filter`` is checked against the parent's row type and selects parents, and the answer holds
those parents' children (``$top``/``$skip``/``$orderby`` then apply to the children). A filter on a
child-only column is therefore a 400, and one on a column both have (``ChangeDate``) silently
filters by the parent's value. Through a navigation (``APInvoices(…)/APInvDtls``) filters apply to
the children as OData says.

Write policy. Sets written by Epicor's own processes refuse OData writes: ``GLPeriodBalSearches``
(balances move only by posting) and ``GLJrnDtls`` (posted lines are immutable) answer 400
``BusinessObjectException``; the journal entry sets are maintained through their service methods
in the sandbox (OData writes answer 405 naming the methods to use).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlc.sandbox.epicor.schema import RowType, row_type


@dataclass(frozen=True)
class Navigation:
    name: str
    target: str
    link: tuple[tuple[str, str], ...]  # (parent field, child field)


@dataclass(frozen=True)
class EntitySet:
    service: str
    name: str
    row: str
    keys: tuple[str, ...]
    navigations: tuple[Navigation, ...] = ()
    refuse_writes: str | None = None  # the business error a write gets
    method_only: bool = False

    @property
    def row_type(self) -> RowType:
        return row_type(self.row)

    def navigation(self, name: str) -> Navigation | None:
        return next((nav for nav in self.navigations if nav.name == name), None)


_BUDGET_KEYS = (
    "Company",
    "BookID",
    "BalanceAcct",
    "BalanceType",
    "FiscalYear",
    "FiscalYearSuffix",
    "FiscalCalendarID",
    "BudgetCodeID",
)
_JOURNAL_KEYS = ("Company", "BookID", "FiscalYear", "FiscalYearSuffix", "JournalCode", "JournalNum")

ENTITY_SETS: tuple[EntitySet, ...] = (
    EntitySet(
        "Erp.BO.GLAccountSvc", "GLAccounts", "GLAccount", ("Company", "COACode", "GLAccount1")
    ),
    EntitySet(
        "Erp.BO.COASvc",
        "COAs",
        "COA",
        ("Company", "COACode"),
        (
            Navigation(
                "COASegments", "COASegments", (("Company", "Company"), ("COACode", "COACode"))
            ),
        ),
    ),
    EntitySet("Erp.BO.COASvc", "COASegments", "COASegment", ("Company", "COACode", "SegmentNbr")),
    EntitySet(
        "Erp.BO.COASegValuesSvc",
        "COASegValues",
        "COASegValues",
        ("Company", "COACode", "SegmentNbr", "SegmentCode"),
    ),
    EntitySet(
        "Erp.BO.GLPeriodBalSearchSvc",
        "GLPeriodBalSearches",
        "GLPeriodBal",
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
        refuse_writes="GL period balances are maintained by posting; they cannot be changed "
        "directly.",
    ),
    EntitySet(
        "Erp.BO.APInvoiceSvc",
        "APInvoices",
        "APInvHed",
        ("Company", "VendorNum", "InvoiceNum"),
        (
            Navigation(
                "APInvDtls",
                "APInvDtls",
                (("Company", "Company"), ("VendorNum", "VendorNum"), ("InvoiceNum", "InvoiceNum")),
            ),
        ),
    ),
    EntitySet(
        "Erp.BO.APInvoiceSvc",
        "APInvDtls",
        "APInvDtl",
        ("Company", "VendorNum", "InvoiceNum", "InvoiceLine"),
    ),
    EntitySet("Erp.BO.VendorSvc", "Vendors", "Vendor", ("Company", "VendorNum")),
    EntitySet(
        "Erp.BO.POSvc",
        "POes",
        "POHeader",
        ("Company", "PONum"),
        (Navigation("PODetails", "PODetails", (("Company", "Company"), ("PONum", "PONUM"))),),
    ),
    EntitySet("Erp.BO.POSvc", "PODetails", "PODetail", ("Company", "PONUM", "POLine")),
    EntitySet(
        "Erp.BO.GLJrnDtlSvc",
        "GLJrnDtls",
        "GLJrnDtl",
        (*_JOURNAL_KEYS, "JournalLine"),
        refuse_writes="Posted journal detail cannot be changed.",
    ),
    EntitySet("Erp.BO.BudgetCodeSvc", "BudgetCodes", "BudgetCode", ("Company", "BudgetCodeID")),
    EntitySet(
        "Erp.BO.AccountBudgetSvc",
        "AccountBudgets",
        "GLBudgetHd",
        _BUDGET_KEYS,
        (
            Navigation(
                "GLBudgetDtls",
                "GLBudgetDtls",
                tuple((key, key) for key in _BUDGET_KEYS),
            ),
        ),
    ),
    EntitySet(
        "Erp.BO.AccountBudgetSvc",
        "GLBudgetDtls",
        "GLBudgetDtl",
        (*_BUDGET_KEYS[:6], "FiscalPeriod", "FiscalCalendarID", "BudgetCodeID"),
    ),
    EntitySet(
        "Erp.BO.GLJrnGrpSvc", "GLJrnGrps", "GLJrnGrp", ("Company", "GroupID"), method_only=True
    ),
    EntitySet(
        "Erp.BO.GLJournalEntrySvc",
        "GLJournalEntries",
        "GLJrnHed",
        (*_JOURNAL_KEYS, "FiscalCalendarID"),
        (
            Navigation(
                "GLJrnDtlMnls",
                "GLJrnDtlMnls",
                tuple((key, key) for key in (*_JOURNAL_KEYS, "FiscalCalendarID")),
            ),
        ),
        method_only=True,
    ),
    EntitySet(
        "Erp.BO.GLJournalEntrySvc",
        "GLJrnDtlMnls",
        "GLJrnDtlMnl",
        (*_JOURNAL_KEYS, "JournalLine", "FiscalCalendarID"),
        method_only=True,
    ),
)

BY_NAME: dict[str, EntitySet] = {entity.name: entity for entity in ENTITY_SETS}


def _parents() -> dict[str, tuple[EntitySet, Navigation]]:
    out: dict[str, tuple[EntitySet, Navigation]] = {}
    for entity in ENTITY_SETS:
        for nav in entity.navigations:
            if BY_NAME[nav.target].service == entity.service:
                out[nav.target] = (entity, nav)
    return out


#: Child entity set → (its parent set in the same service, the navigation linking them).
PARENT_OF: dict[str, tuple[EntitySet, Navigation]] = _parents()


def services() -> dict[str, list[EntitySet]]:
    out: dict[str, list[EntitySet]] = {}
    for entity in ENTITY_SETS:
        out.setdefault(entity.service, []).append(entity)
    return out
