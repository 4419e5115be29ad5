"""Delta markers: which column says a row changed, and how to compare it with a watermark.

Two kinds exist [reference/epicor.md §3]:

- ``ChangeDate`` (on ``APInvHed``, ``APInvDtl``, ``POHeader``, ``PODetail``): a server-local
  timestamp without offset. Compared with ``ge``: the poller stores the largest value it saw and
  re-reads rows stamped exactly then, because another row can still be written in that same
  millisecond after the pull; records are deduplicated downstream by key and content hash, so
  the overlap costs a few rows and never loses one.
- ``SysRevID``: a SQL rowversion, "incremented upon each write" and unique database-wide, so
  ``gt`` the largest seen revision is exact. It is the only marker ``GLPeriodBal``, ``GLAccount``
  and ``Vendor`` rows have; filtering on it is unverified against a live v2 server (the sandbox
  supports it, as does the public client github.com/zgoethel ``EpicorSource``).

The watermark is always taken from the data (:meth:`Delta.value_of` over the rows pulled), never
from the connector's clock, so clock skew between the connector and Epicor cannot lose rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlc.epicor.query import Value, compare


@dataclass(frozen=True)
class Delta:
    column: str
    #: ``gt`` (unique, monotonic markers) rather than ``ge`` (timestamps).
    strict: bool

    def filter(self, since: Value) -> str:
        return compare(self.column, "gt" if self.strict else "ge", since)

    def value_of(self, row: Any) -> Any:
        """The row's marker, for the caller's ``max`` (the next watermark)."""
        return getattr(row, self.column)

    def accepts(self, row: Any, since: Value) -> bool:
        """Whether ``row`` passes :meth:`filter` (for sets where the server may over-select)."""
        value = self.value_of(row)
        if value is None:
            return False
        if isinstance(since, datetime) and since.tzinfo is not None:
            since = since.astimezone(UTC).replace(tzinfo=None)
        return bool(value > since if self.strict else value >= since)


CHANGE_DATE = Delta("ChangeDate", strict=False)
REVISION = Delta("SysRevID", strict=True)
