"""The demo tenant's chart of accounts, shared by the Epicor and Anaplan emulators.

One industrial manufacturer, company ``EPIC06``, three plants. The chart ``MAIN`` has three
segments in physical order: natural account (4 digits), cost center (2 digits) and site (2 digits),
so a GL account reads ``6100|21|10`` (Epicor's internal ``|``-separated form). Both emulators seed
from these tables, so the Anaplan ``Accounts`` and ``Cost Centers`` list codes are exactly the
Epicor natural accounts and cost-center segment values — except the few listed in
:data:`ANAPLAN_LAGS_BEHIND`, which exist in Epicor only, so that ``coa-align`` has real work to do
on a fresh sandbox.

Everything here is deterministic: no randomness, no clock.
"""

from __future__ import annotations

from typing import NamedTuple

COMPANY = "EPIC06"
COMPANY_NAME = "Epic Industrial Manufacturing"
COA_CODE = "MAIN"
BOOK_ID = "MAIN"
FISCAL_CALENDAR_ID = "MAIN"
CURRENCY = "USD"


class Plant(NamedTuple):
    plant: str
    name: str
    site_segment: str


PLANTS: tuple[Plant, ...] = (
    Plant("MfgSys", "Main Manufacturing - Dallas", "10"),
    Plant("Toledo", "Toledo Machining", "20"),
    Plant("Monterrey", "Monterrey Assembly", "30"),
)

CORPORATE_SITE = "00"


class NaturalAccount(NamedTuple):
    code: str
    name: str
    category: str  # Asset, Liability, Equity, Revenue, COGS, Expense
    normal_balance: str  # "D" debit or "C" credit


_NATURAL: tuple[tuple[str, str, str], ...] = (
    ("1000", "Cash - Operating", "Asset"),
    ("1010", "Cash - Payroll", "Asset"),
    ("1100", "Accounts Receivable", "Asset"),
    ("1200", "Raw Materials Inventory", "Asset"),
    ("1210", "Work in Process", "Asset"),
    ("1220", "Finished Goods", "Asset"),
    ("1500", "Machinery and Equipment", "Asset"),
    ("1510", "Accumulated Depreciation", "Asset"),
    ("2000", "Accounts Payable", "Liability"),
    ("2100", "Accrued Payroll", "Liability"),
    ("2200", "Accrued Expenses", "Liability"),
    ("2300", "Sales Tax Payable", "Liability"),
    ("3000", "Common Stock", "Equity"),
    ("3100", "Retained Earnings", "Equity"),
    ("4000", "Product Sales", "Revenue"),
    ("4010", "Service Revenue", "Revenue"),
    ("4100", "Sales Returns", "Revenue"),
    ("4200", "Freight Revenue", "Revenue"),
    ("5000", "Material Cost", "COGS"),
    ("5010", "Direct Labor", "COGS"),
    ("5020", "Manufacturing Overhead", "COGS"),
    ("5030", "Subcontract Cost", "COGS"),
    ("5100", "Purchase Price Variance", "COGS"),
    ("5200", "Scrap", "COGS"),
    ("6000", "Salaries and Wages", "Expense"),
    ("6010", "Payroll Taxes", "Expense"),
    ("6020", "Employee Benefits", "Expense"),
    ("6100", "Rent", "Expense"),
    ("6110", "Utilities", "Expense"),
    ("6120", "Repairs and Maintenance", "Expense"),
    ("6200", "Travel", "Expense"),
    ("6210", "Meals and Entertainment", "Expense"),
    ("6300", "Office Supplies", "Expense"),
    ("6310", "Software Subscriptions", "Expense"),
    ("6400", "Professional Fees", "Expense"),
    ("6410", "Legal Fees", "Expense"),
    ("6500", "Insurance", "Expense"),
    ("6600", "Depreciation Expense", "Expense"),
    ("6700", "Freight Out", "Expense"),
    ("6800", "Training", "Expense"),
    ("6900", "Miscellaneous Expense", "Expense"),
    ("7000", "Interest Expense", "Expense"),
    ("7100", "Bank Fees", "Expense"),
    ("7200", "Foreign Exchange Loss", "Expense"),
    ("8000", "Income Tax Expense", "Expense"),
)

NATURAL_ACCOUNTS: tuple[NaturalAccount, ...] = tuple(
    NaturalAccount(code, name, category, "D" if category in {"Asset", "COGS", "Expense"} else "C")
    for code, name, category in _NATURAL
)


class CostCenter(NamedTuple):
    code: str
    name: str


_CC_NAMES = (
    "Executive", "Finance", "Accounting", "Human Resources", "IT", "Legal", "Procurement",
    "Sales - North", "Sales - South", "Sales - Export", "Marketing", "Customer Service",
    "Engineering", "R&D", "Quality", "Production - Machining", "Production - Welding",
    "Production - Paint", "Production - Assembly", "Maintenance", "Warehouse", "Shipping",
    "Receiving", "Planning", "Tooling", "Facilities", "Safety", "Logistics", "Service Field Ops",
    "Corporate Projects",
)

#: 30 cost centers, codes "10" to "39".
COST_CENTERS: tuple[CostCenter, ...] = tuple(
    CostCenter(str(10 + index), name) for index, name in enumerate(_CC_NAMES)
)


class GLAccount(NamedTuple):
    natural: str
    cost_center: str
    site: str

    @property
    def account(self) -> str:
        """Epicor's internal form: segment values in physical order, ``|``-separated."""
        return f"{self.natural}|{self.cost_center}|{self.site}"

    @property
    def display(self) -> str:
        """Epicor's display form with the chart's separator."""
        return f"{self.natural}-{self.cost_center}-{self.site}"


def _gl_accounts() -> tuple[GLAccount, ...]:
    """About 150 valid combinations: balance-sheet accounts at corporate, P&L spread over plants.

    The choice is a fixed arithmetic pattern (no randomness), so both emulators and every test
    agree without sharing state.
    """
    accounts: list[GLAccount] = []
    for index, natural in enumerate(NATURAL_ACCOUNTS):
        if natural.category in {"Asset", "Liability", "Equity"}:
            accounts.append(GLAccount(natural.code, "11", CORPORATE_SITE))
            continue
        for step in range(4):
            cost_center = COST_CENTERS[(index * 7 + step * 11) % len(COST_CENTERS)]
            plant = PLANTS[(index + step) % len(PLANTS)]
            accounts.append(GLAccount(natural.code, cost_center.code, plant.site_segment))
    return tuple(dict.fromkeys(accounts))


GL_ACCOUNTS: tuple[GLAccount, ...] = _gl_accounts()

#: Codes that exist in Epicor but are not yet members of the Anaplan lists on a fresh sandbox.
ANAPLAN_LAGS_BEHIND: dict[str, tuple[str, ...]] = {
    "Accounts": ("7200", "8000"),
    "Cost Centers": ("38", "39"),
}

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def anaplan_period_name(fiscal_year: int, fiscal_period: int) -> str:
    """Anaplan's monthly time item name for an Epicor fiscal period (calendar-aligned year).

    The demo company's fiscal year is the calendar year, so period 1 of 2026 is ``Jan 26``.
    """
    return f"{MONTHS[fiscal_period - 1]} {fiscal_year % 100:02d}"
