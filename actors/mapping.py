"""The MappingActor: owns the code mappings of the inbound flows (DESIGN §3).

Before a value flow maps anything, ``LoadMappings`` reads the members of its two Anaplan lists
(through the flow's AnaplanModelActor, so the read never overlaps an action on the model) and the
overrides in the store's mapping table; ``MapCells`` then maps every cell or quarantines it with
its reason (:mod:`mlc.flows.mapping`). ``coa-align`` asks ``DiffChart`` (members read afresh) and,
after adding members, ``SaveAlignment``: codes present on both sides are recorded in the mapping
table as themselves, unless an override says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlc.errors import MlcError
from mlc.flows.coa_align import split
from mlc.flows.mapping import CellMapper, CodeMap, mapping_kind
from mlc.flows.options import CoaAlignOptions, InboundFlowSpec
from mlc.messages import (
    AnaplanModelMessage,
    BatchMapped,
    ChartDiff,
    DiffChart,
    ListMember,
    LoadMappings,
    MapCells,
    MappedRow,
    MappingMessage,
    MappingSummary,
    QuarantinedRow,
    ReadListMembers,
    SaveAlignment,
)
from mlc.runtime import Actor, ActorRef
from mlc.store import Store


class MappingActor(Actor[MappingMessage]):
    def __init__(
        self,
        *,
        specs: Mapping[str, InboundFlowSpec],
        models: Mapping[str, ActorRef[AnaplanModelMessage]],
        store: Store,
    ) -> None:
        self._specs = dict(specs)
        self._models = dict(models)
        self._store = store
        self._mappers: dict[str, CellMapper] = {}

    def _spec(self, flow: str) -> InboundFlowSpec:
        spec = self._specs.get(flow)
        if spec is None:
            raise MlcError(f"flow {flow!r} is not an inbound flow of this configuration")
        return spec

    async def _code_map(self, spec: InboundFlowSpec, list_name: str) -> CodeMap:
        members: tuple[ListMember, ...] = await self._models[spec.target].ask(
            ReadListMembers(list_name, spec.options.busy_timeout_seconds)
        )
        overrides = await self._store.get_mappings(mapping_kind(spec.target, list_name))
        return CodeMap.build(list_name, [m.code for m in members], overrides)

    async def receive(self, msg: MappingMessage) -> Any:
        match msg:
            case LoadMappings(flow=flow):
                spec = self._spec(flow)
                options = spec.options
                accounts = await self._code_map(spec, options.accounts_list)
                cost_centers = await self._code_map(spec, options.cost_centers_list)
                self._mappers[flow] = CellMapper(spec, accounts, cost_centers)
                return MappingSummary(
                    accounts=len(accounts.members),
                    cost_centers=len(cost_centers.members),
                    overrides=len(accounts.overrides) + len(cost_centers.overrides),
                )
            case MapCells(flow=flow, cells=cells):
                mapper = self._mappers.get(flow)
                if mapper is None:
                    raise MlcError(f"flow {flow!r}: LoadMappings must come before MapCells")
                mapped: list[MappedRow] = []
                quarantined: list[QuarantinedRow] = []
                for cell in cells:
                    outcome = mapper.map(cell)
                    if isinstance(outcome, MappedRow):
                        mapped.append(outcome)
                    else:
                        quarantined.append(outcome)
                return BatchMapped(mapped=tuple(mapped), quarantined=tuple(quarantined))
            case DiffChart(flow=flow, chart=chart):
                spec = self._spec(flow)
                options = spec.options
                assert isinstance(options, CoaAlignOptions)
                accounts = await self._code_map(spec, options.accounts_list)
                cost_centers = await self._code_map(spec, options.cost_centers_list)
                inactive = options.include_inactive
                missing_accounts, matched_accounts = split(
                    chart.accounts, accounts, include_inactive=inactive
                )
                missing_centers, matched_centers = split(
                    chart.cost_centers, cost_centers, include_inactive=inactive
                )
                return ChartDiff(
                    missing_accounts=tuple(missing_accounts),
                    missing_cost_centers=tuple(missing_centers),
                    matched_accounts=tuple(matched_accounts),
                    matched_cost_centers=tuple(matched_centers),
                )
            case SaveAlignment(flow=flow, accounts=accounts_codes, cost_centers=center_codes):
                spec = self._spec(flow)
                written = 0
                for list_name, codes in (
                    (spec.options.accounts_list, accounts_codes),
                    (spec.options.cost_centers_list, center_codes),
                ):
                    kind = mapping_kind(spec.target, list_name)
                    existing = await self._store.get_mappings(kind)
                    new = {code: code for code in codes if code not in existing}
                    written += await self._store.upsert_mappings(kind, new)
                return written
