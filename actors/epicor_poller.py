"""The EpicorPoller: pages through Epicor for the inbound flows and owns the watermarks in flight.

Per flow, at most one pull is in flight (a new ``StartPull`` for the flow abandons the old one).
The watermark a pull reaches is only *proposed*: it is written to the store by
``CommitWatermark``, which the FlowRunner sends once Anaplan completed the import and the audit
rows are durable — a failed run never moves it (DESIGN §4). Pull files (the cell aggregator) live
in ``work_dir/<flow>-<run id>/`` and are deleted by ``EndPull``.

``ContinuePull`` advances the pull by ``PAGES_PER_STEP`` pages, so the poller's mailbox (and
``ReadChart``) is never blocked for the length of a pull, and progress reaches the operator.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.epicor_pulls import ApSpendPull, GlActualsPull, InboundPull, Progress, read_chart
from mlc.epicor.client import EpicorClient
from mlc.errors import MlcError
from mlc.flows.options import (
    ApSpendOptions,
    CoaAlignOptions,
    GlActualsOptions,
    InboundFlowSpec,
)
from mlc.messages import (
    CommitWatermark,
    ContinuePull,
    EndPull,
    EpicorPollerMessage,
    NextCells,
    PullProgress,
    PullStarted,
    ReadChart,
    RecordBatch,
    SourceCell,
    StartPull,
)
from mlc.runtime import Actor
from mlc.store import Store

log = logging.getLogger("mlc.epicor")

PAGES_PER_STEP = 10


@dataclass(eq=False)
class _InFlight:
    pull: InboundPull
    steps: AsyncGenerator[Progress, None]
    directory: Path
    phase: str = "starting"
    pulled: bool = False
    cells: Iterator[list[SourceCell]] | None = None


class EpicorPoller(Actor[EpicorPollerMessage]):
    def __init__(
        self,
        *,
        clients: Mapping[str, EpicorClient],
        specs: Mapping[str, InboundFlowSpec],
        store: Store,
        work_dir: Path,
    ) -> None:
        self._clients = dict(clients)
        self._specs = dict(specs)
        self._store = store
        self._work_dir = work_dir
        self._pulls: dict[str, _InFlight] = {}

    def _spec(self, flow: str) -> InboundFlowSpec:
        spec = self._specs.get(flow)
        if spec is None:
            raise MlcError(f"flow {flow!r} is not an inbound flow of this configuration")
        return spec

    def _client(self, spec: InboundFlowSpec) -> EpicorClient:
        return self._clients[spec.source]

    def _in_flight(self, flow: str) -> _InFlight:
        found = self._pulls.get(flow)
        if found is None:
            raise MlcError(f"flow {flow!r} has no pull in flight (StartPull first)")
        return found

    async def receive(self, msg: EpicorPollerMessage) -> Any:
        match msg:
            case StartPull(run_id=run_id, flow=flow, full=full):
                return await self._start(run_id, flow, full)
            case ContinuePull(flow=flow):
                return await self._continue(flow)
            case NextCells(flow=flow, limit=limit):
                return self._next_cells(flow, limit)
            case CommitWatermark(flow=flow, value=value):
                if value is not None:
                    await self._store.set_watermark(flow, value)
                    log.info("watermark_committed", extra={"flow": flow, "watermark": value})
                    return value
                return await self._commit(flow)
            case EndPull(flow=flow):
                await self._end(flow)
                return None
            case ReadChart(flow=flow):
                spec = self._spec(flow)
                assert isinstance(spec.options, CoaAlignOptions)
                return await read_chart(self._client(spec), spec.options)

    async def on_stop(self) -> None:
        for flow in list(self._pulls):
            await self._end(flow)

    async def on_failure(self, error: Exception) -> None:
        await self.on_stop()

    async def _start(self, run_id: int, flow: str, full: bool) -> PullStarted:
        spec = self._spec(flow)
        await self._end(flow)
        watermark = await self._store.get_watermark(flow)
        directory = self._work_dir / f"{flow}-{run_id}"
        shutil.rmtree(directory, ignore_errors=True)
        options = spec.options
        client = self._client(spec)
        pull: InboundPull
        if isinstance(options, GlActualsOptions):
            pull = GlActualsPull(flow, directory, client, options, watermark, full)
        elif isinstance(options, ApSpendOptions):
            pull = ApSpendPull(flow, directory, client, options, watermark, full)
        else:
            raise MlcError(f"flow {flow!r} ({spec.kind}) does not pull values")
        self._pulls[flow] = _InFlight(pull, pull.steps(), directory)
        log.info(
            "pull_started",
            extra={"flow": flow, "run_id": run_id, "mode": pull.mode, "watermark": watermark},
        )
        return PullStarted(flow=flow, mode=pull.mode, watermark=watermark)

    async def _continue(self, flow: str) -> PullProgress:
        state = self._in_flight(flow)
        if not state.pulled:
            for _ in range(PAGES_PER_STEP):
                step = await anext(state.steps, None)
                if step is None:
                    state.pulled = True
                    break
                state.phase = step[0]
        return PullProgress(
            flow=flow,
            phase=state.phase,
            source_rows=state.pull.rows,
            done=state.pulled,
            watermark=state.pull.watermark if state.pulled else None,
        )

    def _next_cells(self, flow: str, limit: int) -> RecordBatch:
        state = self._in_flight(flow)
        if not state.pulled:
            raise MlcError(f"flow {flow!r}: the pull is not finished (ContinuePull until done)")
        if state.cells is None:
            state.cells = state.pull.cells(limit)
        batch = next(state.cells, None)
        return RecordBatch(flow=flow, cells=tuple(batch or ()), done=batch is None)

    async def _commit(self, flow: str) -> str | None:
        state = self._in_flight(flow)
        if not state.pulled:
            raise MlcError(f"flow {flow!r}: cannot commit the watermark of an unfinished pull")
        watermark = state.pull.watermark
        if watermark is not None:
            await self._store.set_watermark(flow, watermark)
            log.info("watermark_committed", extra={"flow": flow, "watermark": watermark})
        return watermark

    async def _end(self, flow: str) -> None:
        state = self._pulls.pop(flow, None)
        if state is None:
            return
        try:
            await state.steps.aclose()
        finally:
            state.pull.close()
            shutil.rmtree(state.directory, ignore_errors=True)
