"""Entity keys in a URL: ``GLAccounts('EPIC06','MAIN','1000|10|00')``.

Keys are positional in schema key order, string values single-quoted [PMN, NEST, SNO]; the
named form ``(Company='EPIC06',COACode='MAIN',GLAccount1='1000|10|00')`` that OData v4 also allows
is accepted. A wrong number of values or a value of the wrong type is a 400 ``ODataException``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mlc.sandbox.epicor.errors import bad_query
from mlc.sandbox.epicor.schema import Edm, RowType
from mlc.sandbox.epicor.values import is_guid, parse_datetime

_NAMED = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", re.S)


def _split(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "'":
            if quoted and index + 1 < len(text) and text[index + 1] == "'":
                current.append("''")
                index += 2
                continue
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    if quoted:
        raise bad_query(
            f"Bad Request - Error in query syntax: unterminated string in key ({text})."
        )
    parts.append("".join(current))
    return parts


def _value(raw: str, edm: Edm, name: str, row: RowType) -> Any:
    text = raw.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        if edm is not Edm.STRING:
            raise bad_query(
                f"The key value ({text}) for property '{name}' of type {edm} on "
                f"'{row.qualified}' is not valid."
            )
        return text[1:-1].replace("''", "'")
    try:
        if edm in (Edm.INT32, Edm.INT64) and re.fullmatch(r"-?\d+", text):
            return int(text)
        if edm is Edm.DATETIME:
            return parse_datetime(text)
        if edm is Edm.GUID and is_guid(text):
            return text.lower()
    except ValueError:
        pass
    raise bad_query(
        f"The key value ({text}) for property '{name}' of type {edm} on '{row.qualified}' is not "
        "valid."
    )


def parse_key(text: str, key_fields: Sequence[str], row: RowType) -> tuple[Any, ...]:
    parts = _split(text)
    if len(parts) != len(key_fields):
        raise bad_query(
            "The number of keys specified in the URI does not match number of key properties "
            f"for the resource '{row.qualified}'."
        )
    named = [_NAMED.fullmatch(part) for part in parts]
    if all(match is not None for match in named):
        values: dict[str, Any] = {}
        for match in named:
            assert match is not None
            name, raw = match.group(1), match.group(2)
            if name not in key_fields or name in values:
                raise bad_query(
                    f"The key property '{name}' is not a key of '{row.qualified}' or is repeated."
                )
            values[name] = _value(raw, row.fields[name], name, row)
        return tuple(values[name] for name in key_fields)
    return tuple(
        _value(raw, row.fields[name], name, row)
        for raw, name in zip(parts, key_fields, strict=True)
    )
