"""Business Activity Queries: ``GET {root}/BaqSvc/{BaqID}/Data`` [reference/epicor.md §5].

A BAQ is a saved query; its result rows name columns ``Table_Field`` (``GLPeriodBal_BalanceAmt``)
or ``Calculated_Name`` for computed columns. It takes its own parameters (``?FiscalYear=2025``;
repeat the name for list parameters), which filter in SQL, plus the OData options ``$select``,
``$filter``, ``$orderby`` and ``$top`` [KB] (``$skip`` and ``$count`` are not documented for
BAQs, so BAQs page by key by default). The BAQ must be shared with (or owned by) the API user and
inside the API key's access scope.

A :class:`Baq` describes one such query the way :class:`mlc.epicor.entities.EntitySet`
describes an entity set: row type, key columns to order and page by, and the delta marker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mlc.epicor.delta import Delta
from mlc.epicor.query import Value, check_name
from mlc.epicor.rows import GLPeriodBalBaq, Row, select_of
from mlc.errors import UsageError

R = TypeVar("R", bound=Row)

_BAQ_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class Baq(Generic[R]):
    """One BAQ read as ``row_type`` rows."""

    baq_id: str
    row_type: type[R]
    key: tuple[str, ...]
    delta: Delta | None = None
    #: Key columns fixed by the URL (the company column): left out of keyset predicates.
    scope: tuple[str, ...] = ()
    #: Ask ``$count=true`` on the first page to detect a short read (see mlc.epicor.paging).
    #: Off by default: ``$count`` on BaqSvc is not documented [reference/epicor.md §5].
    count_check: bool = False
    select: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.baq_id or not set(self.baq_id) <= _BAQ_ID_CHARS:
            raise UsageError(f"BAQ id {self.baq_id!r} may only hold letters, digits, '-', '_', '.'")
        columns = select_of(self.row_type)
        for name in columns:
            check_name(name, "BAQ column")
        wanted = (*self.key, self.delta.column) if self.delta else self.key
        missing = [name for name in wanted if name not in columns]
        if missing:
            raise ValueError(f"BAQ {self.baq_id}: {self.row_type.__name__} lacks columns {missing}")
        object.__setattr__(self, "select", columns)

    def delta_filter(self, since: Value) -> str:
        if self.delta is None:
            raise UsageError(
                f"BAQ {self.baq_id} has no modified column: it can only be pulled whole"
            )
        return self.delta.filter(since)


GL_BALANCES_BAQ_ID = "MLC-GLBalances"
GL_BALANCES_BAQ_KEY = (
    "GLPeriodBal_Company",
    "GLPeriodBal_BookID",
    "GLPeriodBal_BalanceAcct",
    "GLPeriodBal_FiscalYear",
    "GLPeriodBal_FiscalPeriod",
)
#: The exact marker: every write takes the next database-wide revision.
BAQ_REVISION = Delta("GLPeriodBal_SysRevID", strict=True)
#: The time-based marker, where the customer's BAQ exposes the last write time.
BAQ_LAST_CHANGE = Delta("Calculated_LastChange", strict=False)


def gl_balances_baq(
    baq_id: str = GL_BALANCES_BAQ_ID, delta: Delta = BAQ_REVISION
) -> Baq[GLPeriodBalBaq]:
    """The customer's GL-balances BAQ (columns: :class:`mlc.epicor.rows.GLPeriodBalBaq`)."""
    return Baq(baq_id, GLPeriodBalBaq, GL_BALANCES_BAQ_KEY, delta, scope=("GLPeriodBal_Company",))
