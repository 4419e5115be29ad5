"""``coa-align``: Epicor chart segment values ⇄ the Anaplan ``Accounts`` and ``Cost Centers`` lists.

The natural-account values (segment ``account_segment`` of the chart ``coa``) and the cost-center
values (segment ``cost_center_segment``) are read from ``Erp.BO.COASegValuesSvc/COASegValues`` and
compared with the members of the two Anaplan lists, through the same mapping as the value flows
(an override in the store's mapping table, else the same code). What Anaplan lacks is either added
through the lists' HIERARCHY_DATA imports (``mode = "add"``) or only reported (``"report"``);
both are audited, one record per value: ``coa-align:account:7200``, ``coa-align:cost_center:38``.

Every value present on both sides afterwards is written to the mapping table as itself (unless an
override exists), so the value flows and an operator see one table of what maps to what.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from mlc.flows.mapping import CodeMap
from mlc.flows.records import content_hash
from mlc.messages import ChartValue

ACCOUNT = "account"
COST_CENTER = "cost_center"


def value_key(flow: str, kind: str, code: str) -> str:
    """``coa-align:account:7200``."""
    return f"{flow}:{kind}:{code}"


def value_hash(value: ChartValue) -> str:
    return content_hash(
        [value.code, value.name, value.category, value.normal_balance, str(value.active)]
    )


def split(
    values: Iterable[ChartValue], members: CodeMap, *, include_inactive: bool
) -> tuple[list[ChartValue], list[str]]:
    """``(missing, matched)``: values without an Anaplan member, and codes with one."""
    missing: list[ChartValue] = []
    matched: list[str] = []
    for value in values:
        if members.resolve(value.code) is not None:
            matched.append(value.code)
        elif value.active or include_inactive:
            missing.append(value)
    return missing, matched


def hierarchy_rows(
    values: Sequence[ChartValue],
    columns: Sequence[tuple[str, str]],
    headers: Sequence[str],
    categories: Mapping[str, str],
) -> tuple[tuple[str, ...], list[tuple[str, tuple[str, ...]]]]:
    """The CSV header and ``(code, row)`` pairs for one list import.

    Only the flow's columns the import knows (its ``headerNames``) are written, so one ``columns``
    table serves the account import (Code, Name, Parent, Normal Balance) and the cost-center import
    (Code, Name).
    """
    wanted = set(headers)
    used = [(header, field) for header, field in columns if header in wanted]
    rows: list[tuple[str, tuple[str, ...]]] = []
    for value in values:
        record = {
            "code": value.code,
            "name": value.name or value.code,
            "category": categories.get(value.category, value.category),
            "normal_balance": value.normal_balance,
        }
        rows.append((value.code, tuple(record[field] for _, field in used)))
    return tuple(header for header, _ in used), rows
