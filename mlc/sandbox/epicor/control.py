"""Epicor-specific control routes under ``/_sandbox/epicor/`` (outside the emulated API).

``POST /_sandbox/epicor/mutate`` — change rows the way users and processes would, so delta pulls
have something to find. Body: ``{"set": "GLPeriodBalSearches", "count": 5}`` (rows picked
deterministically from the emulator's seed and a call counter, or with ``"seed": n``) or
``{"set": …, "keys": [{"BalanceAcct": "6100|21|10", "FiscalYear": 2026, "FiscalPeriod": 3}]}``
(missing key fields take their single value: company, book, …), plus an optional ``"amount"``.
Every changed row gets the next ``SysRevID`` and, where its type has one, ``ChangeDate`` = now on
the sandbox clock; balance rows also get the new modification time the BAQ shows. Values move:
balances by ``amount`` (a debit; negative = credit), AP invoice and PO amounts (lines roll up into
their header, which is written too), budget periods (the header total follows); vendors, GL
accounts and segment values get a changed name or phone. The answer lists the changed rows' keys
and new markers.

``GET /_sandbox/epicor/state`` — sizes, the revision counter, closed periods, domain faults.
``POST /_sandbox/epicor/periods`` — ``{"close": [[2026, 3]], "open": [[2026, 2]]}``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from mlc.sandbox.common.chart import COMPANY
from mlc.sandbox.common.control import read_json_object
from mlc.sandbox.common.counters import RequestCounters
from mlc.sandbox.epicor.balances import KEY_FIELDS, LAST_CHANGE
from mlc.sandbox.epicor.budgets import Budgets
from mlc.sandbox.epicor.entities import BY_NAME
from mlc.sandbox.epicor.faults import EpicorFaults
from mlc.sandbox.epicor.payload import json_response, project
from mlc.sandbox.epicor.state import EpicorState
from mlc.sandbox.epicor.tables import Key, Table
from mlc.sandbox.epicor.values import coerce, format_datetime

_AMOUNTS: dict[str, tuple[str, ...]] = {
    "APInvoices": (
        "InvoiceAmt",
        "DocInvoiceAmt",
        "InvoiceVendorAmt",
        "DocInvoiceVendorAmt",
        "InvoiceBal",
        "DocInvoiceBal",
    ),
    "APInvDtls": ("ExtCost", "DocExtCost"),
    "POes": ("TotalOrder", "DocTotalOrder"),
    "PODetails": ("ExtCost", "DocExtCost"),
}
_PARENTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "APInvDtls": (
        "APInvoices",
        (("Company", "Company"), ("VendorNum", "VendorNum"), ("InvoiceNum", "InvoiceNum")),
    ),
    "PODetails": ("POes", (("Company", "Company"), ("PONUM", "PONum"))),
}
_RENAMES = {"GLAccounts": "AccountDesc", "COASegValues": "SegmentDesc"}
_BALANCE_DEFAULTS = {
    "Company": COMPANY,
    "BookID": "MAIN",
    "BalanceType": "D",
    "FiscalYearSuffix": "",
    "FiscalCalendarID": "MAIN",
}


class MutationError(ValueError):
    pass


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


class EpicorControl:
    def __init__(
        self,
        state: EpicorState,
        faults: EpicorFaults,
        counters: RequestCounters,
        budgets: Budgets,
    ) -> None:
        self.state = state
        self.faults = faults
        self.counters = counters
        self.budgets = budgets

    def register(self, app: web.Application) -> None:
        app.router.add_post("/_sandbox/epicor/mutate", self.mutate)
        app.router.add_get("/_sandbox/epicor/state", self.describe)
        app.router.add_post("/_sandbox/epicor/periods", self.periods)

    async def describe(self, _: web.Request) -> web.Response:
        state = self.state
        return web.json_response(
            {
                "fiscal_year": state.fiscal_year,
                "balance_years": list(state.universe.years),
                "gl_accounts": len(state.universe.accounts),
                "balance_rows": state.balances.size(),
                "balance_rows_written": len(state.balances.written),
                "revision": state.revisions.value,
                "seeded_at": format_datetime(state.seeded_at),
                "closed_periods": sorted([y, p] for y, p in state.closed_periods),
                "tables": {name: table.size() for name, table in state.tables.items()},
                "faults": self.faults.snapshot(),
            }
        )

    async def periods(self, request: web.Request) -> web.Response:
        body = await read_json_object(request)
        try:
            close = [self._period(pair) for pair in body.get("close", [])]
            reopen = [self._period(pair) for pair in body.get("open", [])]
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        self.state.closed_periods.update(close)
        self.state.closed_periods.difference_update(reopen)
        return web.json_response(
            {"closed_periods": sorted([y, p] for y, p in self.state.closed_periods)}
        )

    def _period(self, pair: Any) -> tuple[int, int]:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            or not 1 <= pair[1] <= 12
        ):
            raise ValueError(f"a period is [fiscal year, period 1-12], got {pair!r}")
        return int(pair[0]), int(pair[1])

    async def mutate(self, request: web.Request) -> web.Response:
        body = await read_json_object(request)
        name = body.get("set")
        if name not in BY_NAME:
            return _bad(f"'set' must be one of {', '.join(sorted(BY_NAME))}, got {name!r}")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            return _bad(f"'seed' must be an integer, got {seed!r}")
        self.state.mutation_calls += 1
        rng = random.Random(
            seed if seed is not None else self.state.options.seed * 7919 + self.state.mutation_calls
        )
        try:
            amount = self._amount(body.get("amount"), rng)
            if name == "GLPeriodBalSearches":
                changed = self._mutate_balances(body, rng, amount)
                cascaded: list[dict[str, Any]] = []
            else:
                changed, cascaded = self._mutate_table(name, body, rng, amount)
        except MutationError as exc:
            return _bad(str(exc))
        self.counters.bump("mutations", len(changed))
        return json_response({"set": name, "changed": changed, "cascaded": cascaded})

    def _amount(self, given: Any, rng: random.Random) -> Decimal:
        if given is None:
            return Decimal(rng.randint(100, 500_000)) / 100
        try:
            value = Decimal(str(given))
        except InvalidOperation:
            raise MutationError(f"'amount' must be a number, got {given!r}") from None
        if not value.is_finite():
            raise MutationError(f"'amount' must be a finite number, got {given!r}")
        return value.quantize(Decimal("0.01"))

    def _count(self, body: Mapping[str, Any], available: int) -> int:
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise MutationError(f"'count' must be a positive integer, got {count!r}")
        if count > available:
            raise MutationError(f"'count' {count} exceeds the {available} rows available")
        return count

    def _keys(
        self,
        body: Mapping[str, Any],
        fields: tuple[str, ...],
        defaults: Mapping[str, Any],
        types: Mapping[str, Any],
    ) -> list[Key]:
        keys: list[Key] = []
        for given in body.get("keys", []):
            if isinstance(given, list):
                if len(given) != len(fields):
                    raise MutationError(f"a positional key needs {len(fields)} values: {fields}")
                given = dict(zip(fields, given, strict=True))
            if not isinstance(given, dict):
                raise MutationError(f"a key is an object or a list, got {given!r}")
            try:
                key = tuple(
                    coerce(types[field], given[field]) if field in given else defaults[field]
                    for field in fields
                )
            except KeyError as exc:
                raise MutationError(f"key field {exc.args[0]} is missing in {given!r}") from None
            except ValueError as exc:
                raise MutationError(f"bad key value in {given!r}: {exc}") from None
            keys.append(key)
        return keys

    def _mutate_balances(
        self, body: Mapping[str, Any], rng: random.Random, amount: Decimal
    ) -> list[dict[str, Any]]:
        store = self.state.balances
        if "keys" in body:
            keys = self._keys(body, KEY_FIELDS, _BALANCE_DEFAULTS, store.fields)
            indices = []
            for key in keys:
                row = store.get(key)
                if row is None:
                    raise MutationError(f"no GL period balance with key {list(key)}")
                indices.append(row.index)
        else:
            count = self._count(body, store.universe.size)
            indices = sorted(rng.sample(range(store.universe.size), count))
        now = self.state.now()
        changed = []
        for index in indices:
            row = store.row(index)
            debit = amount if amount > 0 else Decimal(0)
            credit = -amount if amount < 0 else Decimal(0)
            row = store.write(
                index,
                {
                    "BalanceAmt": row["BalanceAmt"] + amount,
                    "DebitAmt": row["DebitAmt"] + debit,
                    "CreditAmt": row["CreditAmt"] + credit,
                    "SysRevID": self.state.revisions.next(),
                    LAST_CHANGE: now,
                },
            )
            entry = project(row, (*KEY_FIELDS, "BalanceAmt", "SysRevID"))
            entry["LastChange"] = format_datetime(now)
            changed.append(entry)
        return changed

    def _mutate_table(
        self, name: str, body: Mapping[str, Any], rng: random.Random, amount: Decimal
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        entity = BY_NAME[name]
        table = self.state.table(name)
        if "keys" in body:
            keys = self._keys(body, entity.keys, {"Company": COMPANY}, entity.row_type.fields)
            for key in keys:
                if table.stored(key) is None:
                    raise MutationError(f"no {name} row with key {list(key)}")
        else:
            ordered = [table.key_of(row) for row in table.scan()]
            count = self._count(body, len(ordered))
            keys = [ordered[i] for i in sorted(rng.sample(range(len(ordered)), count))]
        changed = [self._touch(table, name, key, amount, rng) for key in keys]
        cascaded: list[dict[str, Any]] = []
        parent = _PARENTS.get(name)
        if parent is not None:
            parent_name, link = parent
            parent_table = self.state.table(parent_name)
            for key in keys:
                row = table.get(key)
                assert row is not None
                parent_values = {pf: row[cf] for cf, pf in link}
                parent_key = parent_table.key_of(parent_values)
                if parent_table.stored(parent_key) is not None:
                    cascaded.append(self._touch(parent_table, parent_name, parent_key, amount, rng))
        return changed, cascaded

    def _touch(
        self, table: Table, name: str, key: Key, amount: Decimal, rng: random.Random
    ) -> dict[str, Any]:
        entity = BY_NAME[name]
        if name == "GLBudgetDtls":
            current = table.get(key)
            assert current is not None
            self.budgets.update_detail(key, {"BudgetAmt": current["BudgetAmt"] + amount})
        else:
            current = table.get(key)
            assert current is not None
            changes: dict[str, Any] = {
                field: current[field] + amount for field in _AMOUNTS.get(name, ())
            }
            if name in _RENAMES:
                field = _RENAMES[name]
                base = str(current[field]).removesuffix(" (revised)")
                changes[field] = (
                    base if current[field].endswith(" (revised)") else f"{base} (revised)"
                )
            if name == "Vendors":
                changes["PhoneNum"] = f"555-{rng.randrange(1000, 10000)}"
            table.update(key, self.state.stamp(table, changes))
        row = table.get(key)
        assert row is not None
        markers = [f for f in ("SysRevID", "ChangeDate") if entity.row_type.has(f)]
        return project(row, (*entity.keys, *markers))
