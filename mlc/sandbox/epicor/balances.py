"""GL period balances (``GLPeriodBal``), generated lazily so a million rows cost no memory.

Row ``i`` is computed from ``(seed, i)`` on demand: rows are laid out in key order (account, then
fiscal year, then period 0..12 with period 0 the opening balance), so an index maps to a key and a
key to an index, and amounts come from a hash of the seed and the row's account/year/period.
Writes (journal postings, ``/_sandbox/epicor/mutate``) go to an overlay keyed by index; rows a
posting creates beyond the seeded set are kept there too. Memory is the overlay plus the account
list, whatever ``rows`` is.

Size. ``rows=None`` is the natural demo: every account of the shared chart x current and previous
fiscal year x 13 periods (balance type ``D``, detail). ``rows=N`` makes exactly ``N`` rows: up to
the natural size it is a prefix of the natural set; beyond it more account combinations of the same
chart (natural account x cost center x site, up to 5,400) are opened, then more years of history,
and the first ``N`` rows in key order are kept.

Modification markers. ``GLPeriodBal`` has no ``ChangeDate`` [SNO schema; reference §3]; its
``SysRevID`` is a SQL rowversion, "incremented upon each write" and database-wide monotonic, so
``$filter=SysRevID gt {last seen}`` finds exactly the rows written since (public clients filter on
it: github.com/zgoethel "eb" ``EpicorSource`` uses ``SysRevID gt %d``; filtering on it in v2 is
unverified). Seeded rows get consecutive revisions in index order; every write takes the next
database revision. Each row also carries the time of its last write (``@LastChange``), which only
the BAQ exposes (``Calculated_LastChange``, see :mod:`mlc.sandbox.epicor.baq`): seeded rows are
stamped with their period's end, never later than the moment the data was seeded.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any

from mlc.sandbox.common.chart import (
    BOOK_ID,
    COA_CODE,
    COMPANY,
    CORPORATE_SITE,
    COST_CENTERS,
    CURRENCY,
    FISCAL_CALENDAR_ID,
    GL_ACCOUNTS,
    NATURAL_ACCOUNTS,
    PLANTS,
    GLAccount,
    NaturalAccount,
)
from mlc.sandbox.epicor.narrowing import Geometry, narrow
from mlc.sandbox.epicor.odata import Node
from mlc.sandbox.epicor.schema import row_type

PERIODS = 13
ROW_TYPE = row_type("GLPeriodBal")
KEY_FIELDS = (
    "Company",
    "BookID",
    "BalanceAcct",
    "BalanceType",
    "FiscalYear",
    "FiscalYearSuffix",
    "FiscalPeriod",
    "FiscalCalendarID",
)
LAST_CHANGE = "@LastChange"
_M64 = (1 << 64) - 1
_CENT = Decimal("0.01")
_ZERO = Decimal(0)
_PROFIT_AND_LOSS = frozenset({"Revenue", "COGS", "Expense"})
_SITES = {plant.site_segment: plant.name for plant in PLANTS} | {CORPORATE_SITE: "Corporate"}
_NATURAL = {natural.code: natural for natural in NATURAL_ACCOUNTS}
_COST_CENTER = {center.code: center.name for center in COST_CENTERS}


def mix(value: int) -> int:
    """SplitMix64: a fast, well-spread 64-bit hash of an integer."""
    z = (value + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


@dataclass(frozen=True)
class Account:
    """A GL account with the facts the balance rows need."""

    gl: GLAccount
    natural: NaturalAccount
    pool_index: int  # stable position in the account pool: the hash input, independent of N

    @property
    def code(self) -> str:
        return self.gl.account

    @property
    def description(self) -> str:
        return f"{self.natural.name} - {_COST_CENTER[self.gl.cost_center]} - {_SITES[self.gl.site]}"


def account_pool() -> tuple[Account, ...]:
    """The chart's accounts first, then every other natural x cost center x site combination."""
    chart = list(GL_ACCOUNTS)
    known = set(chart)
    extra = [
        GLAccount(natural.code, center.code, site)
        for site in (CORPORATE_SITE, *(plant.site_segment for plant in PLANTS))
        for center in COST_CENTERS
        for natural in NATURAL_ACCOUNTS
        if GLAccount(natural.code, center.code, site) not in known
    ]
    return tuple(Account(gl, _NATURAL[gl.natural], index) for index, gl in enumerate(chart + extra))


@dataclass(frozen=True)
class Universe:
    """Which rows exist before any write: accounts x years x periods, first ``size`` of them."""

    accounts: tuple[Account, ...]  # ascending by account code
    years: tuple[int, ...]
    size: int

    @property
    def per_account(self) -> int:
        return len(self.years) * PERIODS

    @property
    def capacity(self) -> int:
        return len(self.accounts) * self.per_account


def plan_universe(rows: int | None, fiscal_year: int) -> Universe:
    pool = account_pool()
    natural = len(GL_ACCOUNTS)
    if rows is None or rows <= natural * 2 * PERIODS:
        count, years = natural, 2
    else:
        count = min(len(pool), -(-rows // (2 * PERIODS)))
        years = max(2, -(-rows // (count * PERIODS)))
    accounts = tuple(sorted(pool[:count], key=lambda a: a.code.casefold()))
    span = tuple(range(fiscal_year - years + 1, fiscal_year + 1))
    capacity = len(accounts) * len(span) * PERIODS
    return Universe(accounts, span, capacity if rows is None else rows)


#: Monthly activity relative to an expense account: a mid-size manufacturer's revenue lines run
#: about twelve times its typical expense line, cost of goods about five. The Anaplan sandbox
#: seeds its approved budget on the same scale, so plan and actual are comparable in the demo.
_CATEGORY_SCALE = {"Revenue": 12, "COGS": 5}


def _amounts(seed: int, account: Account, year: int, period: int) -> tuple[int, int]:
    """(debit, credit) in cents for one row; period 0 carries the opening balance as a debit or
    credit for balance-sheet accounts and nothing for P&L accounts (closed to retained earnings)."""
    h = mix((seed & 0xFFFFFFFF) << 32 ^ account.pool_index << 12 ^ (year % 4096) << 4 ^ period)
    category = account.natural.category
    scale = (1 + mix(account.pool_index ^ seed) % 3) * _CATEGORY_SCALE.get(category, 1)
    big = (2_000_00 + h % 58_000_00) * scale
    small = (h >> 20) % (big // 10 + 1)
    if period == 0:
        if category in _PROFIT_AND_LOSS:
            return 0, 0
        opening = big * 6
        return (opening, 0) if category == "Asset" else (0, opening)
    if category in ("Revenue", "Liability", "Equity"):
        return small, big
    if category == "Asset":
        return big, (h >> 40) % big
    return big, small


class BalanceRow(Mapping[str, Any]):
    """One balance row, computed on demand from its index (plus any stored write)."""

    __slots__ = ("_amounts", "_index", "_store")

    def __init__(self, store: BalanceStore, index: int) -> None:
        self._store = store
        self._index = index
        self._amounts: tuple[int, int] | None = None

    @property
    def index(self) -> int:
        return self._index

    def __iter__(self) -> Iterator[str]:
        return iter(ROW_TYPE.fields)

    def __len__(self) -> int:
        return len(ROW_TYPE.fields)

    def __getitem__(self, name: str) -> Any:
        store = self._store
        written = store.written.get(self._index)
        if written is not None and name in written:
            return written[name]
        getter = _GETTERS.get(name)
        if getter is not None:
            return getter(self)
        return ROW_TYPE.defaults[name]

    def account(self) -> Account:
        return self._store.universe.accounts[self._index // self._store.universe.per_account]

    def year(self) -> int:
        universe = self._store.universe
        return universe.years[(self._index % universe.per_account) // PERIODS]

    def period(self) -> int:
        return self._index % PERIODS

    def debit_credit(self) -> tuple[int, int]:
        if self._amounts is None:
            if self._index >= self._store.universe.size:
                self._amounts = (0, 0)
            else:
                self._amounts = _amounts(
                    self._store.seed, self.account(), self.year(), self.period()
                )
        return self._amounts

    def cents(self, which: int) -> Decimal:
        return Decimal(self.debit_credit()[which]) * _CENT


def _balance(row: BalanceRow) -> Decimal:
    debit, credit = row.debit_credit()
    return Decimal(debit - credit) * _CENT


def _open(row: BalanceRow) -> Decimal:
    return _balance(row) if row.period() == 0 else _ZERO


def _segment(position: int) -> Any:
    def get(row: BalanceRow) -> str:
        gl = row.account().gl
        return (gl.natural, gl.cost_center, gl.site)[position]

    return get


def _row_id(row: BalanceRow) -> str:
    store = row._store
    h1 = mix(store.seed ^ 0x5EED ^ row.index << 8)
    h2 = mix(h1 ^ row.index)
    return str(uuid.UUID(int=(h1 << 64 | h2) & ((1 << 128) - 1), version=4))


def seeded_change(year: int, period: int, seeded_at: datetime) -> datetime:
    """When a seeded balance row was last written: its period's close (period 0 at the year's
    opening), never after the data was seeded. Non-decreasing in (year, period)."""
    if period == 0:
        end = datetime(year, 1, 1, 6)
    else:
        end = datetime(year + (period == 12), period % 12 + 1, 1) - timedelta(hours=6)
    return min(end, seeded_at)


def _last_change(row: BalanceRow) -> datetime:
    return seeded_change(row.year(), row.period(), row._store.seeded_at)


_GETTERS: dict[str, Any] = {
    "Company": lambda row: COMPANY,
    "BookID": lambda row: BOOK_ID,
    "BalanceAcct": lambda row: row.account().code,
    "BalanceType": lambda row: "D",
    "FiscalYear": BalanceRow.year,
    "FiscalYearSuffix": lambda row: "",
    "FiscalPeriod": BalanceRow.period,
    "FiscalCalendarID": lambda row: FISCAL_CALENDAR_ID,
    "OpenBalance": _open,
    "BalanceAmt": _balance,
    "DebitAmt": lambda row: row.cents(0),
    "CreditAmt": lambda row: row.cents(1),
    "SegValue1": _segment(0),
    "SegValue2": _segment(1),
    "SegValue3": _segment(2),
    "SysRevID": lambda row: row._store.revision_base + row.index,
    "SysRowID": _row_id,
    "CategoryDesc": lambda row: row.account().natural.category,
    "COACode": lambda row: COA_CODE,
    "NormalBal": lambda row: row.account().natural.normal_balance,
    "BalAcctDesc": lambda row: row.account().description,
    "BalanceAcctDisp": lambda row: row.account().gl.display,
    "BookCurrencyCode": lambda row: CURRENCY,
    "CanUseCarryFwdBal": lambda row: row.account().natural.category in _PROFIT_AND_LOSS,
    LAST_CHANGE: _last_change,
}


class BalanceStore:
    """All period balance rows: generated ones, with writes laid over them."""

    fields = ROW_TYPE.fields
    type_name = ROW_TYPE.qualified
    key_fields = KEY_FIELDS
    constant_fields = frozenset(
        {"Company", "BookID", "BalanceType", "FiscalYearSuffix", "FiscalCalendarID"}
    )
    revision_field: str | None = "SysRevID"

    def __init__(
        self, universe: Universe, seed: int, revision_base: int, seeded_at: datetime
    ) -> None:
        self.universe = universe
        self.seed = seed
        self.revision_base = revision_base
        self.seeded_at = seeded_at
        self.written: dict[int, dict[str, Any]] = {}
        self._written_order: list[int] | None = None
        self._by_code = {account.code: i for i, account in enumerate(universe.accounts)}
        self.geometry = Geometry(
            accounts=tuple(account.code.casefold() for account in universe.accounts),
            years=universe.years,
            periods=PERIODS,
            size=universe.size,
            revision_base=revision_base,
            constants={
                "Company": COMPANY.casefold(),
                "BookID": BOOK_ID.casefold(),
                "BalanceType": "d",
                "FiscalYearSuffix": "",
                "FiscalCalendarID": FISCAL_CALENDAR_ID.casefold(),
                "COACode": COA_CODE.casefold(),
            },
            seeded_before=seeded_at,
            changed_at=tuple(
                seeded_change(year, period, seeded_at)
                for year in universe.years
                for period in range(PERIODS)
            ),
        )

    @property
    def revision_end(self) -> int:
        """The first revision after the seeded block."""
        return self.revision_base + self.universe.size

    def size(self) -> int:
        return self.universe.size + sum(1 for i in self.written if i >= self.universe.size)

    def row(self, index: int) -> BalanceRow:
        return BalanceRow(self, index)

    def index_of(self, account: str, year: int, period: int) -> int | None:
        """The row index a key would have (whether or not the row exists yet)."""
        position = self._by_code.get(account)
        years = self.universe.years
        if position is None or not years[0] <= year <= years[-1] or not 0 <= period < PERIODS:
            return None
        return position * self.universe.per_account + (year - years[0]) * PERIODS + period

    def exists(self, index: int) -> bool:
        return index < self.universe.size or index in self.written

    def get(self, key: Sequence[Any]) -> BalanceRow | None:
        company, book, account, balance_type, year, suffix, period, calendar = key
        if (company, book, balance_type, suffix, calendar) != (
            COMPANY,
            BOOK_ID,
            "D",
            "",
            FISCAL_CALENDAR_ID,
        ):
            return None
        index = self.index_of(account, year, period)
        if index is None or not self.exists(index):
            return None
        return self.row(index)

    def write(self, index: int, changes: Mapping[str, Any]) -> BalanceRow:
        self.written.setdefault(index, {}).update(changes)
        self._written_order = None
        return self.row(index)

    def reset(self) -> None:
        self.written.clear()
        self._written_order = None

    def _written_sorted(self) -> list[int]:
        if self._written_order is None:
            self._written_order = sorted(self.written)
        return self._written_order

    def scan(self, where: Node | None) -> Iterator[Mapping[str, Any]]:
        """Candidate rows in key order: the narrowed seeded rows, then rows created by writes."""
        written = self.written
        size = self.universe.size

        def seeded() -> Iterator[int]:
            for lo, hi in narrow(where, self.geometry):
                for index in range(lo, hi):
                    if index not in written:
                        yield index

        changed = [i for i in self._written_sorted() if i < size]
        created = [i for i in self._written_sorted() if i >= size]
        for index in chain(heapq.merge(seeded(), changed), created):
            yield BalanceRow(self, index)

    def at(self, start: int, stop: int) -> list[Mapping[str, Any]] | None:
        """Rows at positions ``[start, stop)`` of the unfiltered key order, without scanning."""
        size = self.universe.size
        if stop > size and any(i >= size for i in self.written):
            return None
        return [BalanceRow(self, index) for index in range(start, min(stop, size))]

    def by_revision(self, where: Node | None) -> Iterator[Mapping[str, Any]]:
        """Candidate rows in ``SysRevID`` order: seeded rows keep their index order and every
        written row has a newer revision than any seeded one."""
        written = self.written
        for lo, hi in narrow(where, self.geometry):
            for index in range(lo, hi):
                if index not in written:
                    yield BalanceRow(self, index)
        rows = sorted(written, key=lambda i: int(written[i].get("SysRevID", 0)))
        for index in rows:
            yield BalanceRow(self, index)
