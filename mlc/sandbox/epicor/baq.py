"""The seeded Business Activity Query ``MLC-GLBalances``: GL period balances for delta pulls.

Served at ``GET /{instance}/api/v2/odata/{Company}/BaqSvc/MLC-GLBalances/Data`` [KB, ALE, KD,
PYP, BRG]; the result is ``{"@odata.context": …, "value": [...]}`` with columns named
``Table_Field`` and ``Calculated_Name`` [KB, PMN, NEST]. ``$select``, ``$filter``, ``$orderby``
and ``$top`` work on BAQ results [KB]; ``$skip`` and ``$count`` are accepted too (unverified for
BAQs — a client should page a BAQ by key, which needs neither). The same 100-row cap applies [KL].

BAQs are customer-defined; this one stands for what a customer builds for the connector: the
detail balances (``BalanceType = 'D'``) of book ``MAIN`` with their ``SysRevID``, plus a calculated
column ``Calculated_LastChange`` — the time the balance row was last written. ``GLPeriodBal`` has
no modification date of its own (reference §3), so on a real tenant that column needs the
customer's help (a data directive stamping a UD date column on each write, exposed by the BAQ);
``GLPeriodBal_SysRevID`` needs nothing and is the exact marker. Both are bumped by every write here.

v1 BAQs wrote decimals as strings (``"3.00"``) [PMN]; v2's encoding is unverified, so numbers are
the default and ``baq_decimals_as_strings`` switches to strings. v1 rows carried ``RowIdent``;
whether v2 does is unverified and it is not emitted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlc.sandbox.epicor.balances import LAST_CHANGE, BalanceStore
from mlc.sandbox.epicor.odata import Node, rename
from mlc.sandbox.epicor.schema import Edm

COLUMNS: tuple[tuple[str, str, Edm], ...] = (
    ("GLPeriodBal_Company", "Company", Edm.STRING),
    ("GLPeriodBal_BookID", "BookID", Edm.STRING),
    ("GLPeriodBal_BalanceAcct", "BalanceAcct", Edm.STRING),
    ("GLPeriodBal_FiscalYear", "FiscalYear", Edm.INT32),
    ("GLPeriodBal_FiscalPeriod", "FiscalPeriod", Edm.INT32),
    ("GLPeriodBal_BalanceAmt", "BalanceAmt", Edm.DECIMAL),
    ("GLPeriodBal_DebitAmt", "DebitAmt", Edm.DECIMAL),
    ("GLPeriodBal_CreditAmt", "CreditAmt", Edm.DECIMAL),
    ("GLPeriodBal_SegValue1", "SegValue1", Edm.STRING),
    ("GLPeriodBal_SegValue2", "SegValue2", Edm.STRING),
    ("GLPeriodBal_SegValue3", "SegValue3", Edm.STRING),
    ("GLPeriodBal_SysRevID", "SysRevID", Edm.INT64),
    ("Calculated_LastChange", LAST_CHANGE, Edm.DATETIME),
)
_SOURCE = {column: field for column, field, _ in COLUMNS}


class BaqRow(Mapping[str, Any]):
    __slots__ = ("_row",)

    def __init__(self, row: Mapping[str, Any]) -> None:
        self._row = row

    def __getitem__(self, column: str) -> Any:
        return self._row[_SOURCE[column]]

    def __iter__(self) -> Iterator[str]:
        return iter(_SOURCE)

    def __len__(self) -> int:
        return len(_SOURCE)


class BaqSource:
    """A row source over the balance store, in BAQ column names."""

    fields: Mapping[str, Edm] = {column: edm for column, _, edm in COLUMNS}
    key_fields = (
        "GLPeriodBal_Company",
        "GLPeriodBal_BookID",
        "GLPeriodBal_BalanceAcct",
        "GLPeriodBal_FiscalYear",
        "GLPeriodBal_FiscalPeriod",
    )
    constant_fields = frozenset({"GLPeriodBal_Company", "GLPeriodBal_BookID"})
    revision_field: str | None = "GLPeriodBal_SysRevID"

    def __init__(self, baq_id: str, store: BalanceStore) -> None:
        self.type_name = f"Ice.BO.BaqSvc.{baq_id}"
        self._store = store

    def size(self) -> int:
        return self._store.size()

    def _where(self, where: Node | None) -> Node | None:
        return None if where is None else rename(where, _SOURCE)

    def scan(self, where: Node | None) -> Iterator[Mapping[str, Any]]:
        for row in self._store.scan(self._where(where)):
            yield BaqRow(row)

    def at(self, start: int, stop: int) -> list[Mapping[str, Any]] | None:
        rows = self._store.at(start, stop)
        return None if rows is None else [BaqRow(row) for row in rows]

    def by_revision(self, where: Node | None) -> Iterator[Mapping[str, Any]] | None:
        return (BaqRow(row) for row in self._store.by_revision(self._where(where)))
