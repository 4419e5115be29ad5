"""OData query text for Epicor's REST API v2: literals, filters, entity keys and query strings.

Epicor v2 speaks OData v4 [reference/epicor.md §3]. The pieces here only build text; they never
touch the network, so every quoting rule is testable on its own:

- string literals are single-quoted with embedded quotes doubled (``'O''Brien'``);
- datetimes are unquoted ISO-8601 (``2025-01-31T00:00:00Z``); an aware value is rendered in UTC
  with ``Z``, a naive one as given (Epicor stores server-local times without an offset, and the
  reference notes both forms in use);
- entity keys are positional, in schema key order: ``GLAccounts('EPIC06','MAIN','1000|10|00')``;
- field names are checked against an identifier pattern, so a field can never smuggle operators
  into a filter.

Query strings are percent-encoded here rather than by the HTTP library, because OData reads
``+`` in a query as a literal plus on some servers and as a space on others: spaces are always
sent as ``%20``, a literal ``+`` as ``%2B``, and ``&``, ``#``, ``;`` inside literals encoded too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal as TypingLiteral
from urllib.parse import quote

from mlc.errors import UsageError

Value = str | int | Decimal | bool | datetime | date | None
Operator = TypingLiteral["eq", "ne", "gt", "ge", "lt", "le"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_OPERATORS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_QUERY_SAFE = "$',()/:@*!="
_KEY_SAFE = "',()=@:*!$"


def check_name(name: str, what: str = "field") -> str:
    """``name`` if it is a plain OData identifier (``GLAccount1``, ``GLPeriodBal_BalanceAmt``)."""
    if not _IDENTIFIER.match(name):
        raise UsageError(f"Epicor {what} name {name!r} is not a valid OData identifier")
    return name


def string_literal(value: str) -> str:
    """An OData string literal: single quotes, embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def datetime_literal(value: datetime) -> str:
    """An OData datetime literal, unquoted, whole seconds unless the value has microseconds."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
        suffix = "Z"
    else:
        suffix = ""
    timespec = "microseconds" if value.microsecond else "seconds"
    return value.isoformat(timespec=timespec) + suffix


def literal(value: Value) -> str:
    """Any supported Python value as an OData literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise UsageError(f"cannot send the non-finite number {value} to Epicor")
        return format(value, "f")
    return str(value)


def compare(name: str, op: Operator, value: Value) -> str:
    """``Field op literal``, e.g. ``compare("ChangeDate", "ge", dt)``."""
    if op not in _OPERATORS:
        raise UsageError(f"unknown OData comparison operator {op!r}")
    return f"{check_name(name)} {op} {literal(value)}"


def all_of(*clauses: str | None) -> str | None:
    """The conjunction of the non-empty clauses, each parenthesised; ``None`` when none."""
    present = [clause for clause in clauses if clause]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({clause})" for clause in present)


def any_of(*clauses: str) -> str:
    """The disjunction of the clauses, each parenthesised."""
    if len(clauses) == 1:
        return clauses[0]
    return " or ".join(f"({clause})" for clause in clauses)


def after_key(names: Sequence[str], values: Sequence[Value]) -> str:
    """Rows whose composite key sorts strictly after ``values`` (keyset paging).

    For ``(A, B, C)`` after ``(a, b, c)``::

        (A ge a) and ((A gt a) or ((A eq a) and ((B gt b) or ((B eq b) and (C gt c)))))

    which matches ``$orderby=A,B,C`` exactly, so paging by it visits every row once. The
    redundant leading ``A ge a`` is a plain range on the first column, which a SQL server can
    seek an index with; the disjunction alone often makes it scan.
    """
    if len(names) != len(values) or not names:
        raise UsageError(f"keyset paging needs one value per key field {list(names)}")
    expr = compare(names[-1], "gt", values[-1])
    for name, value in zip(reversed(names[:-1]), reversed(values[:-1]), strict=True):
        expr = f"({compare(name, 'gt', value)}) or (({compare(name, 'eq', value)}) and ({expr}))"
    if len(names) > 1:
        expr = f"({compare(names[0], 'ge', values[0])}) and ({expr})"
    return expr


def entity_key(values: Sequence[Value]) -> str:
    """The parenthesised positional key, e.g. ``('EPIC06','MAIN','1000|10|00')``."""
    if not values:
        raise UsageError("an Epicor entity key needs at least one value")
    return "(" + ",".join(literal(value) for value in values) + ")"


def path_segment(text: str) -> str:
    """``text`` percent-encoded for use as one URL path segment (keys keep their quotes)."""
    return quote(text, safe=_KEY_SAFE)


@dataclass(frozen=True)
class ODataQuery:
    """The system query options of one request, plus named parameters (BAQ parameters).

    ``params`` keeps order and repeats: a BAQ list parameter is sent once per value
    (``?Status=A&Status=B``) [reference/epicor.md §5].
    """

    select: Sequence[str] = ()
    filter: str | None = None
    orderby: Sequence[str] = ()
    top: int | None = None
    skip: int | None = None
    #: Ask for ``@odata.count`` (the number of rows matching ``filter``, ignoring paging).
    count: bool = False
    params: Sequence[tuple[str, Value]] = field(default_factory=tuple)

    def pairs(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs in a stable order, values not yet percent-encoded."""
        out: list[tuple[str, str]] = []
        for name, value in self.params:
            out.append((check_name(name, "parameter"), _param_text(value)))
        if self.select:
            out.append(("$select", ",".join(check_name(name) for name in self.select)))
        if self.filter:
            out.append(("$filter", self.filter))
        if self.orderby:
            out.append(("$orderby", ",".join(_orderby_item(item) for item in self.orderby)))
        if self.top is not None:
            out.append(("$top", str(_non_negative(self.top, "$top"))))
        if self.skip:
            out.append(("$skip", str(_non_negative(self.skip, "$skip"))))
        if self.count:
            out.append(("$count", "true"))
        return out

    def encode(self) -> str:
        """The percent-encoded query string, without the leading ``?``."""
        return encode_pairs(self.pairs())


def encode_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='$')}={quote(v, safe=_QUERY_SAFE)}" for k, v in pairs)


def _param_text(value: Value) -> str:
    """BAQ parameter values are plain text: ISO dates, unquoted strings [reference §5]."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return literal(value)


def _orderby_item(item: str) -> str:
    name, _, direction = item.partition(" ")
    if direction not in {"", "asc", "desc"}:
        raise UsageError(f"$orderby item {item!r}: direction must be 'asc' or 'desc'")
    check_name(name)
    return item


def _non_negative(value: int, what: str) -> int:
    if value < 0:
        raise UsageError(f"{what} must not be negative, got {value}")
    return value
