"""OData system query options of a list request, parsed and checked against the row type.

``$`` option names are case-sensitive [SNO swagger: "OData $-parameters data are case-sensitive"];
an unknown or repeated ``$`` option is a 400 in the Microsoft OData library's words. Query
parameters without ``$`` are not OData options (``api-key``, BAQ parameters) and are left alone.
``$count`` is the v2 (OData v4) form (``$inlinecount`` is v1's) [SNO, NEST, KB].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mlc.sandbox.epicor.errors import bad_query
from mlc.sandbox.epicor.odata import Node, parse_filter, validate_filter
from mlc.sandbox.epicor.schema import Edm

SUPPORTED = frozenset(
    {"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$expand", "$format"}
)


@dataclass(frozen=True)
class ListQuery:
    filter: Node | None = None
    select: tuple[str, ...] | None = None
    orderby: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    top: int | None = None
    skip: int = 0
    count: bool = False
    expand: tuple[str, ...] = field(default_factory=tuple)


def _non_negative(name: str, text: str) -> int:
    if not text.strip().isdigit():
        raise bad_query(
            f"Invalid value '{text}' for {name} query option found. The {name} query option "
            "requires a non-negative integer value."
        )
    return int(text)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_list_query(
    params: Iterable[tuple[str, str]],
    fields: Mapping[str, Edm],
    type_name: str,
    navigations: Iterable[str] = (),
    allowed: frozenset[str] = SUPPORTED,
) -> ListQuery:
    """Parse ``params`` (name, value pairs in request order) into a :class:`ListQuery`."""
    seen: dict[str, str] = {}
    for name, value in params:
        if not name.startswith("$"):
            continue
        if name not in allowed:
            raise bad_query(f"The query parameter '{name}' is not supported.")
        if name in seen:
            raise bad_query(
                f"Query option '{name}' was specified more than once, but it must be specified "
                "at most once."
            )
        seen[name] = value

    def known(name: str) -> str:
        if name not in fields:
            raise bad_query(f"Could not find a property named '{name}' on type '{type_name}'.")
        return name

    node = None
    if "$filter" in seen:
        node = parse_filter(seen["$filter"])
        validate_filter(node, fields, type_name)
    select = None
    if "$select" in seen:
        items = _names(seen["$select"])
        if not items:
            raise bad_query("The $select query option must name at least one property.")
        if "*" in items:
            select = None
        else:
            for item in items:
                if "/" in item:
                    raise bad_query(
                        f"The $select path '{item}' is not supported by the sandbox: select "
                        "navigation properties with $expand."
                    )
            select = tuple(dict.fromkeys(known(item) for item in items))
    orderby: list[tuple[str, bool]] = []
    for item in _names(seen.get("$orderby", "")):
        parts = item.split()
        if len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
            raise bad_query(f"Syntax error in $orderby at '{item}'.")
        orderby.append((known(parts[0]), len(parts) == 2 and parts[1] == "desc"))
    top = _non_negative("$top", seen["$top"]) if "$top" in seen else None
    skip = _non_negative("$skip", seen["$skip"]) if "$skip" in seen else 0
    count = False
    if "$count" in seen:
        if seen["$count"] not in ("true", "false"):
            raise bad_query(
                f"'{seen['$count']}' is not a valid count option. The $count query option "
                "requires 'true' or 'false'."
            )
        count = seen["$count"] == "true"
    if "$format" in seen and seen["$format"] not in ("json", "application/json"):
        raise bad_query(f"The $format value '{seen['$format']}' is not supported; use 'json'.")
    expand: list[str] = []
    navs = set(navigations)
    for item in _names(seen.get("$expand", "")):
        if "(" in item or "/" in item:
            raise bad_query(
                f"The $expand item '{item}' is not supported by the sandbox: nested query "
                "options and paths are not emulated."
            )
        if item not in navs:
            raise bad_query(f"Could not find a property named '{item}' on type '{type_name}'.")
        expand.append(item)
    return ListQuery(
        filter=node,
        select=select,
        orderby=tuple(orderby),
        top=top,
        skip=skip,
        count=count,
        expand=tuple(expand),
    )
