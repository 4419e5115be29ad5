"""Seed rows for the small business objects of the demo manufacturer (company ``EPIC06``).

Deterministic from ``(seed, fiscal_year, as_of)``: one ``random.Random(seed)`` drawn in a fixed
order. Dates fall between the start of the previous fiscal year and ``as_of`` (never in the
future), so modification dates of seeded rows are all before the moment the sandbox started and a
delta pull finds nothing until something is written.

The chart (accounts, cost centers, sites, plants) comes from :mod:`mlc.sandbox.common.chart`,
shared with the Anaplan emulator. Seeded GL journal detail records the AP postings of the seeded
invoices; it is not meant to reconcile with the generated period balances.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from mlc.sandbox.common.chart import (
    BOOK_ID,
    COA_CODE,
    COMPANY,
    CORPORATE_SITE,
    COST_CENTERS,
    CURRENCY,
    FISCAL_CALENDAR_ID,
    NATURAL_ACCOUNTS,
    PLANTS,
)
from mlc.sandbox.epicor.balances import Account

Row = dict[str, Any]
CENT = Decimal("0.01")

_VENDORS = (
    ("ACMESTL", "Acme Steel Supply", "Pittsburgh", "PA", "RAW"),
    ("BOLTCO", "Midwest Bolt & Fastener", "Cleveland", "OH", "RAW"),
    ("ALUMTEC", "Alumitec Extrusions", "Louisville", "KY", "RAW"),
    ("HYDRAUL", "Great Lakes Hydraulics", "Toledo", "OH", "RAW"),
    ("BEARING", "Precision Bearing Corp", "Fort Wayne", "IN", "RAW"),
    ("PAINTPR", "ProCoat Industrial Paints", "Dayton", "OH", "RAW"),
    ("WELDSUP", "Southwest Welding Supply", "Houston", "TX", "MRO"),
    ("ELECMTR", "Lone Star Electric Motors", "Austin", "TX", "RAW"),
    ("CASTING", "Monterrey Castings SA", "Monterrey", "NL", "RAW"),
    ("PLASTIX", "Plastix Molding Inc", "Grand Rapids", "MI", "RAW"),
    ("TOOLING", "Tri-State Tooling", "Erie", "PA", "MRO"),
    ("CUTTERS", "Carbide Cutters Ltd", "Rockford", "IL", "MRO"),
    ("SAFETY1", "SafeWorks PPE", "Dallas", "TX", "MRO"),
    ("FREIGHT", "Interstate Freight Lines", "Memphis", "TN", "SVC"),
    ("RAILLOG", "Gulf Rail Logistics", "Laredo", "TX", "SVC"),
    ("PACKAGE", "Box & Pallet Packaging", "Fort Worth", "TX", "RAW"),
    ("GASSUPP", "Industrial Gas Partners", "Tulsa", "OK", "MRO"),
    ("ELECUTL", "North Texas Power & Light", "Dallas", "TX", "SVC"),
    ("WATERUT", "City of Toledo Utilities", "Toledo", "OH", "SVC"),
    ("CLEANSV", "Spotless Facility Services", "Irving", "TX", "SVC"),
    ("ITSERV", "Redline IT Services", "Plano", "TX", "SVC"),
    ("SOFTLIC", "CloudSoft Licensing", "San Jose", "CA", "SVC"),
    ("LEGALCO", "Baker Hale LLP", "Dallas", "TX", "SVC"),
    ("AUDITOR", "Crowe Marsh CPAs", "Chicago", "IL", "SVC"),
    ("INSURCO", "Lakeshore Mutual Insurance", "Columbus", "OH", "SVC"),
    ("TEMPSTF", "Skilled Trades Staffing", "Arlington", "TX", "SVC"),
    ("TRAINCO", "Lean Academy Training", "Detroit", "MI", "SVC"),
    ("CALIBRA", "Metro Calibration Lab", "Toledo", "OH", "SVC"),
    ("MAINTSV", "Apex Machine Repair", "Saltillo", "CO", "SVC"),
    ("FORKLFT", "LiftPro Equipment Rental", "Garland", "TX", "SVC"),
    ("OFFSUPP", "Office Depot Business", "Boca Raton", "FL", "MRO"),
    ("TELECOM", "Frontier Business Telecom", "Norwalk", "CT", "SVC"),
    ("SENSORS", "Keystone Sensors", "Allentown", "PA", "RAW"),
    ("GEARBOX", "Heartland Gear Works", "Peoria", "IL", "RAW"),
    ("RUBBERX", "Akron Rubber Products", "Akron", "OH", "RAW"),
    ("COPPERW", "Copperwire Cable Co", "Phoenix", "AZ", "RAW"),
    ("CHEMSOL", "ChemSolutions de Mexico", "Apodaca", "NL", "MRO"),
    ("CUSTOMS", "Border Customs Brokers", "Laredo", "TX", "SVC"),
    ("SECURTY", "Sentinel Plant Security", "Dallas", "TX", "SVC"),
    ("WASTEMG", "GreenCycle Waste Management", "Houston", "TX", "SVC"),
)

_PARTS = (
    ("STL-PLT-0250", "Steel plate 1/4in A36", "LB"),
    ("STL-BAR-1018", "Cold rolled bar 1018", "FT"),
    ("ALU-EXT-6061", "Aluminum extrusion 6061-T6", "FT"),
    ("HYD-CYL-0300", "Hydraulic cylinder 3in bore", "EA"),
    ("BRG-6204-2RS", "Ball bearing 6204-2RS", "EA"),
    ("PNT-EPX-GRY", "Epoxy primer grey 5gal", "EA"),
    ("MTR-5HP-TEFC", "Electric motor 5HP TEFC", "EA"),
    ("CST-HSG-0410", "Gearbox housing casting", "EA"),
    ("FST-HEX-M12", "Hex bolt M12x40 grade 8.8", "EA"),
    ("PLT-CVR-0120", "Molded cover ABS", "EA"),
    ("PKG-PLT-4840", "Pallet 48x40 heat treated", "EA"),
    ("GAS-ARG-300", "Argon cylinder 300cf", "EA"),
    ("SNS-PRX-M18", "Proximity sensor M18", "EA"),
    ("GER-SPR-2040", "Spur gear 20T module 4", "EA"),
    ("CBL-CU-12AWG", "Copper cable 12AWG", "FT"),
)

_SERVICE_LINES = (
    "Monthly service fee",
    "Freight charges",
    "Consulting hours",
    "Maintenance contract",
    "Subscription renewal",
    "Utility usage",
    "Calibration services",
    "Temporary labor",
)


@dataclass(frozen=True)
class SeedContext:
    seed: int
    fiscal_year: int
    as_of: datetime  # naive UTC; nothing seeded is dated after it
    accounts: Sequence[Account]  # the GL accounts that exist (the balance universe's)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def _date(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class _Draw:
    def __init__(self, ctx: SeedContext) -> None:
        self.rng = random.Random(ctx.seed)
        self.start = datetime(ctx.fiscal_year - 1, 1, 1)
        self.end = max(self.start + timedelta(days=1), ctx.as_of)

    def moment(self) -> datetime:
        span = (self.end - self.start).total_seconds()
        seconds = self.rng.uniform(0, span)
        return self.start + timedelta(seconds=int(seconds), milliseconds=self.rng.randrange(1000))

    def later(self, moment: datetime, max_days: int) -> datetime:
        candidate = moment + timedelta(
            days=self.rng.randrange(max_days + 1), seconds=self.rng.randrange(36_000)
        )
        return min(candidate, self.end)


def chart_rows(ctx: SeedContext) -> dict[str, list[Row]]:
    coa = [
        {
            "Company": COMPANY,
            "COACode": COA_CODE,
            "Description": "Main Chart of Accounts",
            "SeparatorChar": "-",
            "NbrSegments": 3,
            "ChartLength": 10,
        }
    ]
    segment_names = (("Account", "Acct", 4), ("Cost Center", "CC", 2), ("Site", "Site", 2))
    segments = [
        {
            "Company": COMPANY,
            "COACode": COA_CODE,
            "SegmentNbr": number,
            "SegmentName": name,
            "Abbreviation": abbreviation,
            "MaxLength": length,
            "DisplayOrder": number,
            "Dynamic": False,
        }
        for number, (name, abbreviation, length) in enumerate(segment_names, start=1)
    ]
    sites = [(CORPORATE_SITE, "Corporate")] + [(p.site_segment, p.name) for p in PLANTS]
    segment_values = (
        [(1, n.code, n.name, n.category.upper(), n.normal_balance) for n in NATURAL_ACCOUNTS]
        + [(2, c.code, c.name, "", "") for c in COST_CENTERS]
        + [(3, code, name, "", "") for code, name in sites]
    )
    values: list[Row] = [
        {
            "Company": COMPANY,
            "COACode": COA_CODE,
            "SegmentNbr": number,
            "SegmentCode": code,
            "SegmentName": name,
            "SegmentDesc": name,
            "ActiveFlag": True,
            "Category": category,
            "NormalBalance": normal,
            "SegNbrName": segment_names[number - 1][0],
        }
        for number, code, name, category, normal in segment_values
    ]
    accounts = [
        {
            "Company": COMPANY,
            "COACode": COA_CODE,
            "GLAccount1": account.code,
            "AccountDesc": account.description,
            "SegValue1": account.gl.natural,
            "SegValue2": account.gl.cost_center,
            "SegValue3": account.gl.site,
            "Active": True,
            "GLAcctDispGLAcctDisp": account.gl.display,
            "GLAcctDispAccountDesc": account.description,
            "GLAcctDispGLShortAcct": account.gl.display,
        }
        for account in ctx.accounts
    ]
    return {
        "COAs": coa,
        "COASegments": segments,
        "COASegValues": values,
        "GLAccounts": accounts,
    }


def business_rows(ctx: SeedContext) -> dict[str, list[Row]]:
    """Vendors, purchase orders, AP invoices with lines, AP postings, budget codes and budgets."""
    draw = _Draw(ctx)
    rng = draw.rng
    expense_accounts = [
        a for a in ctx.accounts if a.natural.category in ("COGS", "Expense")
    ] or list(ctx.accounts)
    payable = next((a for a in ctx.accounts if a.gl.natural == "2000"), ctx.accounts[0])

    vendors: list[Row] = []
    for number, (vendor_id, name, city, state, group) in enumerate(_VENDORS, start=1):
        vendors.append(
            {
                "Company": COMPANY,
                "VendorNum": number,
                "VendorID": vendor_id,
                "Name": name,
                "Address1": f"{100 + rng.randrange(9800)} Industrial Pkwy",
                "City": city,
                "State": state,
                "ZIP": f"{rng.randrange(10000, 99999)}",
                "Country": "Mexico" if state in ("NL", "CO") else "USA",
                "TermsCode": rng.choice(("N30", "N45", "N60", "2N10")),
                "CurrencyCode": CURRENCY,
                "GroupCode": group,
                "Inactive": number in (17, 33),
                "Approved": True,
                "PayHold": number == 29,
                "TaxPayerID": f"{rng.randrange(10, 99)}-{rng.randrange(1000000, 9999999)}",
                "EMailAddress": f"ar@{vendor_id.lower()}.example.com",
            }
        )

    pos: list[Row] = []
    po_lines: list[Row] = []
    for po_num in range(5001, 5151):
        vendor = rng.choice(vendors)
        ordered = _date(draw.moment())
        changed = draw.later(ordered, 20)
        total = Decimal(0)
        lines = rng.randint(1, 4)
        for line in range(1, lines + 1):
            part, desc, _uom = rng.choice(_PARTS)
            qty = Decimal(rng.randint(1, 400))
            cost = _money(rng.uniform(2, 900))
            ext = (qty * cost).quantize(CENT)
            total += ext
            po_lines.append(
                {
                    "Company": COMPANY,
                    "PONUM": po_num,
                    "POLine": line,
                    "VendorNum": vendor["VendorNum"],
                    "PartNum": part,
                    "LineDesc": desc,
                    "OrderQty": qty,
                    "XOrderQty": qty,
                    "UnitCost": cost,
                    "DocUnitCost": cost,
                    "ExtCost": ext,
                    "DocExtCost": ext,
                    "OpenLine": True,
                    "VoidLine": False,
                    "DueDate": ordered + timedelta(days=rng.randint(7, 60)),
                    "ChangeDate": changed,
                    "ChangedBy": "buyer1",
                    "PONUMOrderDate": ordered,
                }
            )
        pos.append(
            {
                "Company": COMPANY,
                "PONum": po_num,
                "OrderDate": ordered,
                "VendorNum": vendor["VendorNum"],
                "BuyerID": rng.choice(("BUYER1", "BUYER2", "BUYER3")),
                "OpenOrder": True,
                "VoidOrder": False,
                "Approve": True,
                "ApprovalStatus": "A",
                "TotalOrder": total,
                "DocTotalOrder": total,
                "CurrencyCode": CURRENCY,
                "DueDate": ordered + timedelta(days=30),
                "ChangeDate": changed,
                "ChangedBy": "buyer1",
                "VendorVendorID": vendor["VendorID"],
                "VendorName": vendor["Name"],
            }
        )

    invoices: list[Row] = []
    invoice_lines: list[Row] = []
    journal: list[Row] = []
    journal_numbers: dict[tuple[int, int], int] = {}
    for sequence in range(1, 401):
        vendor = rng.choice(vendors)
        invoiced = _date(draw.moment())
        changed = draw.later(invoiced, 15)
        invoice_num = f"{vendor['VendorID'][:3]}-{10000 + sequence}"
        po = rng.choice(pos) if rng.random() < 0.5 else None
        total = Decimal(0)
        lines = rng.randint(1, 4)
        for line in range(1, lines + 1):
            account = rng.choice(expense_accounts)
            if po is not None:
                part, desc, _uom = rng.choice(_PARTS)
                line_type = "PUR"
            else:
                part, desc, line_type = "", rng.choice(_SERVICE_LINES), "MISC"
            qty = Decimal(rng.randint(1, 120))
            cost = _money(rng.uniform(5, 1500))
            ext = (qty * cost).quantize(CENT)
            total += ext
            invoice_lines.append(
                {
                    "Company": COMPANY,
                    "VendorNum": vendor["VendorNum"],
                    "InvoiceNum": invoice_num,
                    "InvoiceLine": line,
                    "LineType": line_type,
                    "PartNum": part,
                    "Description": desc,
                    "VendorQty": qty,
                    "OurQty": qty,
                    "UnitCost": cost,
                    "DocUnitCost": cost,
                    "ExtCost": ext,
                    "DocExtCost": ext,
                    "PONum": po["PONum"] if po else 0,
                    "POLine": 1 if po else 0,
                    "PORelNum": 1 if po else 0,
                    "PackSlip": f"PS{rng.randrange(100000, 999999)}" if po else "",
                    "GLAccount": account.code,
                    "ChangeDate": changed,
                    "ChangedBy": "apclerk",
                }
            )
            journal.append(
                _posting(
                    journal_numbers,
                    invoiced,
                    account,
                    ext,
                    Decimal(0),
                    vendor,
                    invoice_num,
                    changed,
                )
            )
        journal.append(
            _posting(
                journal_numbers, invoiced, payable, Decimal(0), total, vendor, invoice_num, changed
            )
        )
        paid = rng.random() < 0.6 and invoiced < draw.end - timedelta(days=30)
        invoices.append(
            {
                "Company": COMPANY,
                "VendorNum": vendor["VendorNum"],
                "InvoiceNum": invoice_num,
                "InvoiceDate": invoiced,
                "DueDate": invoiced + timedelta(days=30),
                "ApplyDate": invoiced,
                "InvoiceAmt": total,
                "DocInvoiceAmt": total,
                "InvoiceVendorAmt": total,
                "DocInvoiceVendorAmt": total,
                "InvoiceBal": Decimal(0) if paid else total,
                "DocInvoiceBal": Decimal(0) if paid else total,
                "OpenPayable": not paid,
                "Posted": True,
                "GLPosted": True,
                "GroupID": f"AP{invoiced:%y%m%d}",
                "FiscalYear": invoiced.year,
                "FiscalPeriod": invoiced.month,
                "FiscalCalendarID": FISCAL_CALENDAR_ID,
                "TermsCode": vendor["TermsCode"],
                "CurrencyCode": CURRENCY,
                "ExchangeRate": Decimal(1),
                "DebitMemo": False,
                "InvoiceHeld": False,
                "Description": f"{vendor['Name']} invoice {invoice_num}",
                "REFPONum": po["PONum"] if po else 0,
                "ChangeDate": changed,
                "ChangedBy": "apclerk",
                "VendorNumVendorID": vendor["VendorID"],
                "VendorNumName": vendor["Name"],
            }
        )

    codes = [
        {
            "Company": COMPANY,
            "BudgetCodeID": code,
            "BudgetCodeDesc": description,
            "IsDefault": code == "MAIN",
            "Inactive": code == "OLD",
        }
        for code, description in (
            ("MAIN", "Main Budget"),
            ("FCST", "Rolling Forecast"),
            ("OLD", "Retired plan"),
        )
    ]
    headers: list[Row] = []
    details: list[Row] = []
    budgeted = [a for a in expense_accounts if a.pool_index % 2 == 0]
    for account in budgeted:
        key = {
            "Company": COMPANY,
            "BookID": BOOK_ID,
            "BalanceAcct": account.code,
            "BalanceType": "D",
            "FiscalYear": ctx.fiscal_year,
            "FiscalYearSuffix": "",
            "FiscalCalendarID": FISCAL_CALENDAR_ID,
            "BudgetCodeID": "MAIN",
        }
        segments = {
            "SegValue1": account.gl.natural,
            "SegValue2": account.gl.cost_center,
            "SegValue3": account.gl.site,
            "COACode": COA_CODE,
            "CurrencyCode": CURRENCY,
        }
        monthly = _money(rng.uniform(2_000, 60_000))
        total = Decimal(0)
        for period in range(1, 13):
            amount = (monthly * Decimal(str(rng.uniform(0.85, 1.15)))).quantize(CENT)
            total += amount
            details.append({**key, "FiscalPeriod": period, "BudgetAmt": amount, **segments})
        headers.append({**key, "TotalBudgetAmt": total, "BudgetPerCode": "", **segments})
    return {
        "Vendors": vendors,
        "POes": pos,
        "PODetails": po_lines,
        "APInvoices": invoices,
        "APInvDtls": invoice_lines,
        "GLJrnDtls": journal,
        "BudgetCodes": codes,
        "AccountBudgets": headers,
        "GLBudgetDtls": details,
    }


def _posting(
    numbers: dict[tuple[int, int], int],
    when: datetime,
    account: Account,
    debit: Decimal,
    credit: Decimal,
    vendor: Row,
    invoice_num: str,
    posted: datetime,
) -> Row:
    year = when.year
    journal_num = 1000 + when.timetuple().tm_yday
    line = numbers.get((year, journal_num), 0) + 1
    numbers[(year, journal_num)] = line
    return {
        "Company": COMPANY,
        "BookID": BOOK_ID,
        "FiscalYear": year,
        "FiscalYearSuffix": "",
        "JournalCode": "AP",
        "JournalNum": journal_num,
        "JournalLine": line,
        "FiscalCalendarID": FISCAL_CALENDAR_ID,
        "FiscalPeriod": when.month,
        "JEDate": when,
        "GroupID": f"AP{when:%y%m%d}",
        "Posted": True,
        "PostedBy": "apclerk",
        "PostedDate": _date(posted),
        "CreateDate": _date(posted),
        "SourceModule": "AP",
        "VendorNum": vendor["VendorNum"],
        "APInvoiceNum": invoice_num,
        "COACode": COA_CODE,
        "GLAccount": account.code,
        "BalanceAcct": account.code,
        "SegValue1": account.gl.natural,
        "SegValue2": account.gl.cost_center,
        "SegValue3": account.gl.site,
        "DebitAmount": debit,
        "CreditAmount": credit,
        "BookDebitAmount": debit,
        "BookCreditAmount": credit,
        "TotDebit": debit,
        "TotCredit": credit,
        "CurrencyCode": CURRENCY,
        "BookCurrencyCode": CURRENCY,
        "Description": f"AP invoice {invoice_num}",
        "GLAcctDisp": account.gl.display,
        "GLAccountAccountDesc": account.description,
    }
