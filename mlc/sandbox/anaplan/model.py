"""The model engine: lists, a monthly time dimension, versions, modules, line items and cells.

Cells are keyed by the ids of the members of the module's dimensions, in the module's dimension
order (lists…, Time, Versions), and hold one value per line item. Nothing is canned: imports write
members and cells here, exports and view reads read them back.

Member lookup by an import or a cell write matches the code first, then the name — Anaplan maps a
source value to the code when the list has codes (all seeded lists do). Names and codes are matched
exactly (case-sensitive; unverified, chosen as the stricter reading).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from mlc.sandbox.anaplan import ids

CellValue = float | str


@dataclass
class Member:
    id: str
    name: str
    code: str
    parent_id: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """A dimension item as the dimension-items endpoints show it."""

    id: str
    name: str
    code: str


class ListDim:
    def __init__(
        self,
        list_id: str,
        name: str,
        index: int,
        parent: ListDim | None = None,
        property_names: tuple[str, ...] = (),
    ) -> None:
        self.id = list_id
        self.name = name
        self.index = index
        self.parent = parent
        self.property_names = property_names
        self.members: dict[str, Member] = {}
        self._by_code: dict[str, Member] = {}
        self._by_name: dict[str, Member] = {}
        self._next = 1

    def __len__(self) -> int:
        return len(self.members)

    def add(
        self,
        name: str,
        code: str,
        parent_id: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> Member:
        member = Member(ids.member_id(self.index, self._next), name, code, parent_id)
        member.properties = dict(properties or {})
        self._next += 1
        self.members[member.id] = member
        if code:
            self._by_code[code] = member
        self._by_name[name] = member
        return member

    def update(
        self,
        member: Member,
        name: str | None = None,
        parent_id: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> bool:
        """Apply changes; True when anything changed."""
        changed = False
        if name is not None and name != member.name:
            self._by_name.pop(member.name, None)
            member.name = name
            self._by_name[name] = member
            changed = True
        if parent_id is not None and parent_id != member.parent_id:
            member.parent_id = parent_id
            changed = True
        for key, value in (properties or {}).items():
            if member.properties.get(key) != value:
                member.properties[key] = value
                changed = True
        return changed

    def remove(self, member: Member) -> None:
        self.members.pop(member.id, None)
        if self._by_code.get(member.code) is member:
            del self._by_code[member.code]
        if self._by_name.get(member.name) is member:
            del self._by_name[member.name]

    def by_code(self, code: str) -> Member | None:
        return self._by_code.get(code)

    def by_name(self, name: str) -> Member | None:
        return self._by_name.get(name)

    def find(self, value: str) -> Member | None:
        return self._by_code.get(value) or self._by_name.get(value)

    @property
    def next_index(self) -> int:
        return self._next

    def items(self) -> list[Item]:
        return [Item(m.id, m.name, m.code) for m in self.members.values()]


@dataclass(frozen=True)
class Period:
    id: str
    name: str
    year: int
    month: int

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


class TimeDim:
    """Calendar months over whole fiscal years (fiscal year = calendar year, chart.py)."""

    id = ids.TIME_DIMENSION_ID
    name = "Time"

    def __init__(self, first_year: int, last_year: int) -> None:
        self.first_year = first_year
        self.last_year = last_year
        self.periods: list[Period] = []
        for year in range(first_year, last_year + 1):
            for month in range(1, 13):
                name = f"{calendar.month_abbr[month]} {year % 100:02d}"
                self.periods.append(
                    Period(ids.time_item_id(len(self.periods) + 1), name, year, month)
                )
        self._by_name = {p.name: p for p in self.periods}
        self._by_id = {p.id: p for p in self.periods}

    def find(self, value: str) -> Period | None:
        return self._by_name.get(value) or self._by_id.get(value)

    def by_id(self, period_id: str) -> Period | None:
        return self._by_id.get(period_id)

    def items(self) -> list[Item]:
        return [Item(p.id, p.name, "") for p in self.periods]


@dataclass(frozen=True)
class Version:
    id: str
    name: str
    is_actual: bool
    is_current: bool


class VersionDim:
    id = ids.VERSION_DIMENSION_ID
    name = "Versions"

    def __init__(self, versions: Iterable[Version]) -> None:
        self.versions = list(versions)
        self._by_name = {v.name: v for v in self.versions}
        self._by_id = {v.id: v for v in self.versions}

    def find(self, value: str) -> Version | None:
        return self._by_name.get(value) or self._by_id.get(value)

    def items(self) -> list[Item]:
        return [Item(v.id, v.name, "") for v in self.versions]


@dataclass(frozen=True)
class LineItem:
    id: str
    name: str
    code: str
    format: str  # NUMBER or TEXT
    module_id: str


Dimension = ListDim | TimeDim | VersionDim


class Module:
    def __init__(self, module_id: str, name: str, dimensions: tuple[Dimension, ...]) -> None:
        self.id = module_id
        self.name = name
        self.dimensions = dimensions
        self.line_items: list[LineItem] = []
        self.cells: dict[tuple[str, ...], dict[str, CellValue]] = {}

    def add_line_item(self, line_item_id: str, name: str, fmt: str = "NUMBER") -> LineItem:
        item = LineItem(line_item_id, name, name.replace(" ", ""), fmt, self.id)
        self.line_items.append(item)
        return item

    def line_item(self, value: str) -> LineItem | None:
        for item in self.line_items:
            if value in (item.id, item.name, item.code):
                return item
        return None

    def write(self, coords: tuple[str, ...], line_item: str, value: CellValue | None) -> bool:
        """Set (or, with None, clear) one cell; True when the stored value changed."""
        row = self.cells.get(coords)
        old = row.get(line_item) if row else None
        if value is None or value == "" or value == 0.0:
            if row is not None and line_item in row:
                del row[line_item]
                if not row:
                    del self.cells[coords]
            return old is not None
        if row is None:
            row = self.cells[coords] = {}
        row[line_item] = value
        return old != value

    def read(self, coords: tuple[str, ...], line_item: str) -> CellValue | None:
        row = self.cells.get(coords)
        return row.get(line_item) if row else None

    def ordered_cells(self) -> Iterator[tuple[tuple[str, ...], dict[str, CellValue]]]:
        """Cells in dimension order: list members in list order, periods in time order."""
        rank = [{item.id: pos for pos, item in enumerate(d.items())} for d in self.dimensions]

        def key(coords: tuple[str, ...]) -> tuple[int, ...]:
            return tuple(rank[i].get(c, 1 << 30) for i, c in enumerate(coords))

        for coords in sorted(self.cells, key=key):
            yield coords, self.cells[coords]

    def drop_member(self, member_id: str) -> None:
        for coords in [c for c in self.cells if member_id in c]:
            del self.cells[coords]


class Model:
    """One Anaplan model: its dimensions and modules (actions and files live beside it)."""

    def __init__(self, model_id: str, name: str, workspace_id: str, time: TimeDim) -> None:
        self.id = model_id
        self.name = name
        self.workspace_id = workspace_id
        self.time = time
        self.versions = VersionDim(())
        self.lists: dict[str, ListDim] = {}
        self.modules: dict[str, Module] = {}
        self.active_state = "UNLOCKED"
        self.open = True
        self.created = 0.0
        self.last_modified = 0.0
        self.last_modified_by = ""
        self.serial = 1

    def add_list(
        self, name: str, parent: ListDim | None = None, properties: tuple[str, ...] = ()
    ) -> ListDim:
        index = len(self.lists) + 1
        dim = ListDim(ids.object_id(ids.LIST_PREFIX, index), name, index, parent, properties)
        self.lists[dim.id] = dim
        return dim

    def list_named(self, name: str) -> ListDim:
        for dim in self.lists.values():
            if dim.name == name:
                return dim
        raise KeyError(name)

    def find_list(self, value: str) -> ListDim | None:
        for dim in self.lists.values():
            if value in (dim.id, dim.name):
                return dim
        return None

    def add_module(self, name: str, dimensions: tuple[Dimension, ...]) -> Module:
        module = Module(ids.object_id(ids.MODULE_PREFIX, len(self.modules) + 1), name, dimensions)
        self.modules[module.id] = module
        return module

    def module_named(self, name: str) -> Module:
        for module in self.modules.values():
            if module.name == name:
                return module
        raise KeyError(name)

    def find_module(self, value: str) -> Module | None:
        for module in self.modules.values():
            if value in (module.id, module.name):
                return module
        return None

    def line_items(self) -> list[LineItem]:
        return [item for module in self.modules.values() for item in module.line_items]

    def find_line_item(self, value: str) -> LineItem | None:
        for item in self.line_items():
            if value in (item.id, item.name, item.code):
                return item
        return None

    def dimension(self, dim_id: str) -> Dimension | None:
        if dim_id == self.time.id:
            return self.time
        if dim_id == self.versions.id:
            return self.versions
        return self.lists.get(dim_id)

    def touch(self, now: float, user: str) -> None:
        self.last_modified = now
        self.last_modified_by = user
        self.serial += 1

    def remove_member(self, dim: ListDim, member: Member) -> None:
        dim.remove(member)
        for module in self.modules.values():
            if dim in module.dimensions:
                module.drop_member(member.id)
