"""Which generated balance rows a ``$filter`` can possibly match, as index intervals.

Balance rows are generated in key order (account, then year, then period), so a condition on a
leading key field, on ``SysRevID`` (seeded revisions grow with the index) or on the seeded
modification time maps to a few index intervals. Serving a filtered page then touches only those
rows instead of scanning millions — which is what lets keyset paging (``BalanceAcct gt 'x'``,
``SysRevID gt n``) stay fast at any depth, as it does on a real SQL index.

The result is a superset: every row the filter matches lies in it (rows that were written after
seeding are always scanned separately); the filter itself is still applied to each candidate.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlc.sandbox.epicor.odata import BoolOp, Compare, Literal, Node, Prop

Intervals = list[tuple[int, int]]

_FLIP = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}


@dataclass(frozen=True)
class Geometry:
    """The shape of the seeded balance rows."""

    accounts: Sequence[str]  # BalanceAcct values, casefolded, ascending
    years: Sequence[int]  # ascending, contiguous
    periods: int  # per year (13: 0..12)
    size: int  # seeded rows (a prefix of accounts x years x periods)
    revision_base: int  # SysRevID of row 0
    constants: dict[str, str]  # casefolded values every row shares (Company, BookID, …)
    seeded_before: datetime  # every seeded modification time is at or before this
    #: Seeded modification time of each position within an account's block (non-decreasing).
    changed_at: Sequence[datetime] = ()

    @property
    def per_account(self) -> int:
        return len(self.years) * self.periods


def intersect(left: Intervals, right: Intervals) -> Intervals:
    out: Intervals = []
    i = j = 0
    while i < len(left) and j < len(right):
        lo = max(left[i][0], right[j][0])
        hi = min(left[i][1], right[j][1])
        if lo < hi:
            out.append((lo, hi))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def union(left: Intervals, right: Intervals) -> Intervals:
    merged: Intervals = []
    for lo, hi in sorted(left + right):
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _range(lo: int, hi: int, op: str, value: int) -> tuple[int, int] | None:
    """The sub-range of ``[lo, hi)`` satisfying ``x op value`` (None for ``ne``)."""
    if op == "eq":
        return (max(lo, value), min(hi, value + 1))
    if op == "gt":
        return (max(lo, value + 1), hi)
    if op == "ge":
        return (max(lo, value), hi)
    if op == "lt":
        return (lo, min(hi, value))
    if op == "le":
        return (lo, min(hi, value + 1))
    return None


def _account_range(geo: Geometry, op: str, value: str) -> tuple[int, int] | None:
    accounts = geo.accounts
    folded = value.casefold()
    left = bisect.bisect_left(accounts, folded)
    right = bisect.bisect_right(accounts, folded)
    if op == "eq":
        return (left, right)
    if op == "gt":
        return (right, len(accounts))
    if op == "ge":
        return (left, len(accounts))
    if op == "lt":
        return (0, left)
    if op == "le":
        return (0, right)
    return None


def _leaf(geo: Geometry, field: str, op: str, value: Any) -> Intervals | None:
    """Intervals for ``field op value``; None when the condition does not narrow."""
    full = geo.size
    per = geo.per_account
    if value is None:
        return None
    if field == "BalanceAcct" and isinstance(value, str):
        accounts = _account_range(geo, op, value)
        if accounts is None:
            return None
        lo, hi = accounts
        return [(lo * per, min(hi * per, full))] if lo < hi else []
    if field == "SysRevID" and isinstance(value, int):
        rows = _range(0, full, op, value - geo.revision_base)
        return None if rows is None else ([rows] if rows[0] < rows[1] else [])
    if field in ("FiscalYear", "FiscalPeriod") and isinstance(value, int):
        if field == "FiscalYear":
            span = _range(0, len(geo.years), op, value - geo.years[0])
            width, stride = geo.periods, per
        else:
            span = _range(0, geo.periods, op, value)
            width, stride = 1, geo.periods
        if span is None:
            return None
        lo, hi = span
        if lo >= hi:
            return []
        if field == "FiscalYear" and lo == 0 and hi == len(geo.years):
            return None
        out: Intervals = []
        for start in range(0, full, stride):
            a, b = start + lo * width, min(start + hi * width, full)
            if a < b:
                out.append((a, b))
        return out
    if field == "@LastChange" and isinstance(value, datetime):
        if (op == "gt" and value >= geo.seeded_before) or (
            op == "ge" and value > geo.seeded_before
        ):
            return []
        if op not in ("gt", "ge", "lt", "le") or len(geo.changed_at) != per:
            return None
        times = geo.changed_at
        cut = {
            "gt": bisect.bisect_right(times, value),
            "ge": bisect.bisect_left(times, value),
            "lt": bisect.bisect_left(times, value),
            "le": bisect.bisect_right(times, value),
        }[op]
        lo, hi = (cut, per) if op in ("gt", "ge") else (0, cut)
        if lo >= hi:
            return []
        blocks: Intervals = []
        for start in range(0, full, per):
            a, b = start + lo, min(start + hi, full)
            if a < b:
                blocks.append((a, b))
        return blocks
    constant = geo.constants.get(field)
    if constant is not None and isinstance(value, str) and op in ("eq", "ne"):
        same = constant == value.casefold()
        return None if same == (op == "eq") else []
    return None


def narrow(node: Node | None, geo: Geometry) -> Intervals:
    """Index intervals (sorted, disjoint, within the seeded rows) that may match ``node``."""
    everything: Intervals = [(0, geo.size)] if geo.size else []
    if node is None:
        return everything
    result = _narrow(node, geo)
    return everything if result is None else intersect(result, everything)


def _narrow(node: Node, geo: Geometry) -> Intervals | None:
    if isinstance(node, BoolOp):
        left = _narrow(node.left, geo)
        right = _narrow(node.right, geo)
        if node.op == "and":
            if left is None:
                return right
            if right is None:
                return left
            return intersect(left, right)
        if left is None or right is None:
            return None
        return union(left, right)
    if isinstance(node, Compare):
        if isinstance(node.left, Prop) and isinstance(node.right, Literal):
            return _leaf(geo, node.left.name, node.op, node.right.value)
        if isinstance(node.right, Prop) and isinstance(node.left, Literal):
            return _leaf(geo, node.right.name, _FLIP[node.op], node.left.value)
    return None
