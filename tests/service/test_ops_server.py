"""The ops endpoints over real HTTP: probes follow the service state, metrics parse, and the
status page escapes every value and shows no secret."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlc.logs import register_secret
from mlc.messages import TokenHealth
from mlc.ops.actor_metrics import register_actor_metrics
from mlc.ops.health import Heartbeat, ServiceHealth
from mlc.ops.server import OpsServer
from mlc.ops.status import ServiceStatus, build_status
from mlc.runtime import Actor, ManualClock, Supervisor
from mlc.store import RecordEvent, RunCounts, Store
from tests.service.conftest import config_from, get, wait_for

pytestmark = pytest.mark.anyio

REQUIRED_METRICS = {
    "mlc_flow_runs_total": "counter",
    "mlc_flow_run_duration_seconds": "histogram",
    "mlc_records_total": "counter",
    "mlc_http_requests_total": "counter",
    "mlc_http_request_duration_seconds": "histogram",
    "mlc_rate_limit_waits_total": "counter",
    "mlc_token_refreshes_total": "counter",
    "mlc_connection_up": "gauge",
    "mlc_actor_restarts_total": "counter",
    "mlc_actor_mailbox_depth": "gauge",
    "mlc_flow_last_success_timestamp_seconds": "gauge",
}


class Idle(Actor[str]):
    async def receive(self, msg: str) -> str:
        return msg


class Crashy(Actor[str]):
    async def receive(self, msg: str) -> str:
        raise RuntimeError("boom")


def _health(clock: ManualClock) -> ServiceHealth:
    return ServiceHealth(Heartbeat(clock, interval=1.0, max_age=5.0))


async def test_livez_follows_the_heartbeat_not_the_readiness() -> None:
    clock = ManualClock()
    health = _health(clock)
    async with OpsServer(health, host="127.0.0.1", port=0) as server:
        base = f"http://127.0.0.1:{server.port}"
        status, _, body = await get(f"{base}/livez")
        assert status == 200, body
        assert (await get(f"{base}/readyz"))[0] == 503

        await clock.advance(6.0)  # no ticker runs: the heartbeat goes stale
        status, _, body = await get(f"{base}/livez")
        assert status == 503
        assert json.loads(body)["alive"] is False

        health.heartbeat.beat()
        assert (await get(f"{base}/livez"))[0] == 200


async def test_heartbeat_ticker_keeps_liveness_fresh_as_time_passes() -> None:
    clock = ManualClock()
    health = _health(clock)
    async with anyio.create_task_group() as tg:
        await tg.start(health.heartbeat.run)
        for _ in range(10):
            await clock.advance(1.0)
            await wait_for(lambda: clock.sleepers == 1)
        assert health.liveness().alive
        assert health.heartbeat.age() <= 1.0
        tg.cancel_scope.cancel()


async def test_readyz_needs_config_store_actors_and_no_drain() -> None:
    clock = ManualClock()
    health = _health(clock)
    supervisor = Supervisor(clock=clock)
    supervisor.add("idle", Idle)

    async def connections() -> list[TokenHealth]:
        return [TokenHealth(connection="anaplan.fpa", status="down", consecutive_failures=3)]

    health.connection_health = connections
    async with OpsServer(health, host="127.0.0.1", port=0) as server:
        url = f"http://127.0.0.1:{server.port}/readyz"
        health.config_loaded = True
        health.store_open = True
        status, _, body = await get(url)
        assert status == 503
        assert json.loads(body)["checks"]["actors_started"] is False

        async with anyio.create_task_group() as tg:
            health.supervisor = supervisor
            health.supervisor_running = True
            await tg.start(supervisor.run)
            status, content_type, body = await get(url)
            detail = json.loads(body)
            assert status == 200, body
            assert content_type.startswith("application/json")
            # A connection that is down is reported, but does not make the pod unready.
            assert detail["connections"]["anaplan.fpa"]["status"] == "down"

            health.draining = True
            status, _, body = await get(url)
            assert status == 503
            assert json.loads(body)["checks"]["not_draining"] is False
            # Still alive while draining: the kubelet must not kill a pod that is shutting down.
            assert (await get(f"http://127.0.0.1:{server.port}/livez"))[0] == 200
            supervisor.request_stop()
        health.supervisor_running = False
        assert (await get(f"http://127.0.0.1:{server.port}/livez"))[0] == 200


async def test_metrics_parse_and_include_actor_series() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock=clock)
    supervisor.add("idle", Idle)
    crashy = supervisor.add("crashy", Crashy)
    unregister = register_actor_metrics(supervisor)
    try:
        async with (
            OpsServer(_health(clock), host="127.0.0.1", port=0) as server,
            anyio.create_task_group() as tg,
        ):
            await tg.start(supervisor.run)
            await crashy.tell("go")
            await wait_for(lambda: clock.sleepers >= 1)  # crashed, backing off on the clock
            await clock.advance(60)
            await wait_for(lambda: supervisor.restart_counts()["crashy"] == 1)

            status, content_type, text = await get(f"http://127.0.0.1:{server.port}/metrics")
            supervisor.request_stop()
    finally:
        unregister()
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    types = {}
    for name, family in families.items():
        full = name + "_total" if family.type == "counter" else name
        types[full] = family.type
    for name, kind in REQUIRED_METRICS.items():
        assert types.get(name) == kind, f"{name} missing or not a {kind}"
    restarts = {s.labels["actor"]: s.value for s in families["mlc_actor_restarts"].samples}
    assert restarts["crashy"] >= 1.0
    depth = {s.labels["actor"]: s.value for s in families["mlc_actor_mailbox_depth"].samples}
    assert set(depth) >= {"idle", "crashy"}


async def _status_with_hostile_text(tmp_path: Path, store: Store) -> ServiceStatus:
    register_secret("s3cr3t-passw0rd")
    config = config_from(
        tmp_path,
        """
[flows.gl-actuals]
kind = "gl-actuals"
source = "epicor.main"
target = "anaplan.fpa"
schedule = [{ cron = "0 6 * * *", timezone = "Europe/Berlin" }]
""",
    )
    run = await store.create_run("gl-actuals", "signal")
    await store.add_records(
        [
            RecordEvent(
                run_id=run.id,
                flow="gl-actuals",
                record_key="EPIC06|<img src=x onerror=alert(1)>|2026-01",
                content_hash="h",
                stage="mapped",
                status="quarantined",
                error='account "9999" has no Anaplan member',
            )
        ]
    )
    await store.finish_run(
        run.id,
        "partial",
        RunCounts(read=2, mapped=1, quarantined=1, loaded=1),
        error="<script>alert('x')</script> login with s3cr3t-passw0rd failed",
    )
    return await build_status(
        config=config,
        store=store,
        schedule=None,
        connections=[TokenHealth(connection="anaplan.fpa", status="up")],
        state="running",
        started_at=0.0,
        now=1_767_225_600.0,
    )


async def test_status_json_and_html_escape_everything_and_hide_secrets(
    tmp_path: Path, store: Store
) -> None:
    status = await _status_with_hostile_text(tmp_path, store)

    async def provide() -> ServiceStatus:
        return status

    async with OpsServer(_health(ManualClock()), host="127.0.0.1", port=0, status=provide) as s:
        base = f"http://127.0.0.1:{s.port}/status"
        code, content_type, body = await get(base)
        html_code, html_type, page = await get(f"{base}?format=html")

    assert code == 200 and content_type.startswith("application/json")
    document = json.loads(body)
    flow = document["flows"][0]
    assert flow["last_runs"][0]["counts"]["quarantined"] == 1
    assert flow["quarantined"][0]["error"] == 'account "9999" has no Anaplan member'
    assert "s3cr3t-passw0rd" not in body

    assert html_code == 200 and html_type.startswith("text/html")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page
    assert "s3cr3t-passw0rd" not in page
    assert "gl-actuals" in page and "cron 0 6 * * * (Europe/Berlin)" in page


async def test_status_is_503_until_the_service_provides_it() -> None:
    async with OpsServer(_health(ManualClock()), host="127.0.0.1", port=0) as server:
        status, _, _ = await get(f"http://127.0.0.1:{server.port}/status")
    assert status == 503
