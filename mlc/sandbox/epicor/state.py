"""The emulated tenant's data: every table, the lazy balances, the database revision counter.

``SysRevID`` is a SQL rowversion: one counter for the whole database, bumped on every write
[SNO field doc "incremented upon each write"]. Writes through any route take the next value, and
rows whose type has ``ChangeDate`` get the sandbox clock's time in it (with ``ChangedBy``), so
delta pulls on either marker find exactly the rows written.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mlc.sandbox.common.clock import SandboxClock
from mlc.sandbox.epicor.balances import BalanceStore, plan_universe
from mlc.sandbox.epicor.config import EpicorOptions
from mlc.sandbox.epicor.entities import ENTITY_SETS
from mlc.sandbox.epicor.query import RowSource
from mlc.sandbox.epicor.seed import SeedContext, business_rows, chart_rows
from mlc.sandbox.epicor.tables import Table
from mlc.sandbox.epicor.values import from_epoch, parse_datetime

REVISION_START = 8_000_001


class Revisions:
    def __init__(self, start: int = REVISION_START) -> None:
        self.value = start

    def next(self) -> int:
        value = self.value
        self.value += 1
        return value

    def reserve(self, count: int) -> int:
        base = self.value
        self.value += count
        return base


class EpicorState:
    def __init__(self, options: EpicorOptions, clock: SandboxClock) -> None:
        self.options = options
        self.clock = clock
        built = from_epoch(clock.time())
        self.fiscal_year = options.fiscal_year or built.year
        if options.as_of is not None:
            as_of = parse_datetime(options.as_of)
        else:
            as_of = built
        year_end = datetime(self.fiscal_year + 1, 1, 1) - timedelta(milliseconds=1)
        self.seeded_at = min(as_of, year_end, built)
        self.universe = plan_universe(options.rows, self.fiscal_year)
        self.tables: dict[str, Table] = {
            entity.name: Table(entity.row_type, entity.keys)
            for entity in ENTITY_SETS
            if entity.name != "GLPeriodBalSearches"
        }
        self.revisions = Revisions()
        self.balances = BalanceStore(self.universe, options.seed, REVISION_START, self.seeded_at)
        self.closed_periods: set[tuple[int, int]] = set()
        self.mutation_calls = 0
        self.reset()

    def reset(self) -> None:
        """Back to the seed: every table reloaded, writes forgotten, revisions restarted."""
        self.revisions = Revisions()
        context = SeedContext(
            seed=self.options.seed,
            fiscal_year=self.fiscal_year,
            as_of=self.seeded_at,
            accounts=self.universe.accounts,
        )
        identity = random.Random(self.options.seed ^ 0x5157)
        seeded = chart_rows(context) | business_rows(context)
        for name, table in self.tables.items():
            table.clear()
            for values in seeded.get(name, []):
                row = dict(values)
                row["SysRevID"] = self.revisions.next()
                row["SysRowID"] = str(uuid.UUID(int=identity.getrandbits(128), version=4))
                table.insert(row)
        base = self.revisions.reserve(self.universe.size)
        self.balances = BalanceStore(self.universe, self.options.seed, base, self.seeded_at)
        self.closed_periods = set(self.options.closed_periods)
        self.mutation_calls = 0

    def now(self) -> datetime:
        return from_epoch(self.clock.time())

    def today(self) -> datetime:
        return self.now().replace(hour=0, minute=0, second=0, microsecond=0)

    def table(self, name: str) -> Table:
        return self.tables[name]

    def source(self, name: str) -> RowSource:
        if name == "GLPeriodBalSearches":
            return self.balances
        return self.tables[name]

    def stamp(self, table: Table, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``changes`` plus the write markers of ``table``'s row type."""
        stamped = dict(changes)
        stamped["SysRevID"] = self.revisions.next()
        if table.row_type.has("ChangeDate"):
            stamped["ChangeDate"] = self.now()
            if table.row_type.has("ChangedBy"):
                stamped["ChangedBy"] = self.options.user
        return stamped

    def new_row_id(self) -> str:
        return str(uuid.uuid4())
