"""Record keys, content hashes and amounts: what makes a business record identifiable.

A **record key** names one business record stably across runs, so its audit trail can be followed
(``mlc audit show``) and a changed record told from a repeat: ``<flow>:<part>|<part>|…``, e.g.
``gl-actuals:EPIC06|MAIN|6100|21|2026|3`` for the cell of natural account 6100 and cost center 21
in period 3 of 2026 of book MAIN. ``|`` is Epicor's own segment separator and cannot occur in a
segment value, so keys are unambiguous.

A **content hash** is a digest of the values a record sends to its target, in column order: two
records with the same hash would write the same cells. BLAKE2b with a 16-byte digest: collision
odds are negligible for this use, and it is in the standard library.

**Amounts** travel as :class:`decimal.Decimal` (Epicor's JSON numbers decode exactly) and are
summed as integers of micro-units, so aggregation is exact and order-independent: a cent is never
lost to binary floating point.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from decimal import Decimal

#: Micro-units: six decimal places, more than any currency or Epicor amount column carries.
AMOUNT_SCALE = 6
_CENTS = Decimal("0.01")


class AmountError(ValueError):
    """An amount the connector cannot carry exactly."""


def record_key(flow: str, parts: Iterable[str | int]) -> str:
    return f"{flow}:" + "|".join(str(part) for part in parts)


def content_hash(values: Sequence[str]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for value in values:
        digest.update(value.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def to_micros(amount: Decimal) -> int:
    """``amount`` as an integer number of micro-units; :class:`AmountError` if that is inexact."""
    if not amount.is_finite():
        raise AmountError(f"amount {amount} is not a finite number")
    scaled = amount.scaleb(AMOUNT_SCALE)
    whole = scaled.to_integral_value()
    if scaled != whole:
        raise AmountError(f"amount {amount} has more than {AMOUNT_SCALE} decimal places")
    return int(whole)


def from_micros(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-AMOUNT_SCALE)


def format_amount(amount: Decimal) -> str:
    """Plain decimal text for a CSV cell: at least two decimals, no exponent, no grouping.

    ``1234.5`` → ``1234.50``; ``0.125`` → ``0.125``; ``-0`` → ``0.00``.
    """
    if amount == amount.quantize(_CENTS):
        amount = amount.quantize(_CENTS)
    else:
        amount = amount.normalize()
    text = format(amount, "f")
    return "0.00" if text in ("-0.00", "-0") else text
