"""Typed field values: parsing what clients send, formatting what the emulator returns.

Dates. Epicor stores SQL ``datetime`` values without an offset and REST v2 writes them as
``2025-01-31T00:00:00`` ([KB] "dates as 2025-01-31T00:00:00"). The emulated server's local time is
UTC, so values are held as naive UTC ``datetime`` objects, written without an offset (with
``.fff`` milliseconds when they are not zero, as SQL ``datetime`` keeps milliseconds). Whether v2
accepts an offset in input is unverified in the reference; the emulator accepts both forms, with
and without ``Z`` or ``±hh:mm``, and converts offsets to UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from mlc.sandbox.epicor.schema import Edm

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?"
)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def parse_datetime(text: str) -> datetime:
    """``2025-01-31``, ``2025-01-31T10:00:00``, ``…Z`` or ``…+02:00`` → naive UTC datetime."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text}' is not a valid date/time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    value = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * sign
        value = value.replace(tzinfo=timezone(offset)).astimezone(UTC).replace(tzinfo=None)
    return value


def format_datetime(value: datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text


def from_epoch(seconds: float) -> datetime:
    """Sandbox-clock seconds → naive UTC datetime at millisecond precision (SQL ``datetime``)."""
    millis = round(seconds * 1000)
    return datetime(1970, 1, 1) + timedelta(milliseconds=millis)


def is_guid(text: str) -> bool:
    return _GUID.fullmatch(text) is not None


def coerce(edm: Edm, value: Any) -> Any:
    """A JSON value from a request body as the field's type; ``ValueError`` says why not.

    Decimals and 64-bit integers may come as JSON strings (OData's IEEE754Compatible form);
    everything else must have its JSON type.
    """
    if value is None:
        if edm in (Edm.DATETIME, Edm.STRING):
            return None if edm is Edm.DATETIME else ""
        raise ValueError(f"null is not a valid {edm}")
    if edm is Edm.STRING:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a valid Edm.String")
        return value
    if edm is Edm.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not a valid Edm.Boolean")
        return value
    if edm in (Edm.INT32, Edm.INT64):
        if isinstance(value, bool) or not isinstance(value, int | str | float):
            raise ValueError(f"{value!r} is not a valid {edm}")
        if isinstance(value, str) and edm is Edm.INT32:
            raise ValueError(f"{value!r} is not a valid Edm.Int32")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value!r} is not a valid {edm}")
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid {edm}") from None
    if edm is Edm.DECIMAL:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{value!r} is not a valid Edm.Decimal")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a valid Edm.Decimal") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a valid Edm.Decimal")
        return number
    if edm is Edm.DATETIME:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a valid Edm.DateTimeOffset")
        return parse_datetime(value)
    if not isinstance(value, str) or not is_guid(value):
        raise ValueError(f"{value!r} is not a valid Edm.Guid")
    return value.lower()


def to_json(value: Any) -> Any:
    """A stored value as it goes on the wire (datetimes formatted, the rest as is)."""
    if isinstance(value, datetime):
        return format_datetime(value)
    return value
