"""The hand-written registry, checked against prometheus_client's reference text parser."""

from __future__ import annotations

import math

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from mlc import __version__, metrics
from mlc.metrics import CONTENT_TYPE, Registry


def parse(text: str) -> dict[str, tuple[str, str, list[Sample]]]:
    """family name -> (type, help, samples), failing on duplicate families."""
    families: dict[str, tuple[str, str, list[Sample]]] = {}
    for family in text_string_to_metric_families(text):
        assert family.name not in families, f"family {family.name} rendered twice"
        families[family.name] = (family.type, family.documentation, list(family.samples))
    return families


def test_counter_with_labels_renders_each_series() -> None:
    registry = Registry()
    runs = registry.counter("t_runs_total", "Runs.", ["flow", "status"])
    runs.labels(flow="gl-actuals", status="ok").inc()
    runs.labels(flow="gl-actuals", status="ok").inc(2)
    runs.labels(status="failed", flow="ap-spend").inc()

    families = parse(registry.render())

    kind, help_text, samples = families["t_runs"]
    assert (kind, help_text) == ("counter", "Runs.")
    values = {(s.labels["flow"], s.labels["status"]): s.value for s in samples}
    assert values == {("gl-actuals", "ok"): 3.0, ("ap-spend", "failed"): 1.0}
    assert {s.name for s in samples} == {"t_runs_total"}


def test_output_follows_text_format_layout() -> None:
    registry = Registry()
    registry.counter("t_a_total", "A.", ["x"]).labels(x="1").inc()
    registry.gauge("t_b", "B.").set(2.5)

    text = registry.render()

    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    lines = text.splitlines()
    assert lines == [
        "# HELP t_a_total A.",
        "# TYPE t_a_total counter",
        't_a_total{x="1"} 1.0',
        "# HELP t_b B.",
        "# TYPE t_b gauge",
        "t_b 2.5",
    ]
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_label_values_and_help_are_escaped() -> None:
    registry = Registry()
    awkward = 'C:\\temp\\"quoted"\nnext line'
    registry.gauge("t_escape", "Help with \\ backslash\nand newline.", ["path"]).labels(
        path=awkward
    ).set(1)

    text = registry.render()
    families = parse(text)

    _, help_text, samples = families["t_escape"]
    assert help_text == "Help with \\ backslash\nand newline."
    assert samples[0].labels["path"] == awkward
    assert len(text.splitlines()) == 3


def test_histogram_buckets_are_cumulative_and_end_with_inf() -> None:
    registry = Registry()
    latency = registry.histogram("t_latency_seconds", "Latency.", ["system"], [0.1, 1, 10])
    for value in (0.05, 0.1, 0.5, 2, 20, 30):
        latency.labels(system="anaplan").observe(value)

    families = parse(registry.render())

    kind, _, samples = families["t_latency_seconds"]
    assert kind == "histogram"
    buckets = {s.labels["le"]: s.value for s in samples if s.name.endswith("_bucket")}
    assert buckets == {"0.1": 2.0, "1.0": 3.0, "10.0": 4.0, "+Inf": 6.0}
    by_name = {s.name: s.value for s in samples if not s.name.endswith("_bucket")}
    assert by_name["t_latency_seconds_count"] == 6.0
    assert math.isclose(by_name["t_latency_seconds_sum"], 52.65)
    assert all(s.labels["system"] == "anaplan" for s in samples)


def test_histogram_bucket_order_is_ascending_with_inf_last() -> None:
    registry = Registry()
    registry.histogram("t_h", "H.", buckets=[1, 2]).observe(1.5)

    lines = [line for line in registry.render().splitlines() if "_bucket" in line]

    assert lines == ['t_h_bucket{le="1.0"} 0', 't_h_bucket{le="2.0"} 1', 't_h_bucket{le="+Inf"} 1']


def test_gauge_callback_is_read_at_render_time() -> None:
    registry = Registry()
    depth = registry.gauge("t_depth", "Depth.", ["actor"])
    mailbox = [1, 2, 3]
    depth.labels(actor="scheduler").set_function(lambda: len(mailbox))

    first = parse(registry.render())["t_depth"][2][0].value
    mailbox.append(4)
    second = parse(registry.render())["t_depth"][2][0].value

    assert (first, second) == (3.0, 4.0)


def test_collector_refreshes_gauges_before_each_render_and_can_be_removed() -> None:
    registry = Registry()
    restarts = registry.gauge("t_live", "Live.", ["actor"])
    state = {"a": 1.0}

    def collect() -> None:
        for name, value in state.items():
            restarts.labels(actor=name).set(value)

    unregister = registry.register_collector(collect)
    state["b"] = 5.0
    values = {s.labels["actor"]: s.value for s in parse(registry.render())["t_live"][2]}
    assert values == {"a": 1.0, "b": 5.0}

    unregister()
    state["b"] = 9.0
    values = {s.labels["actor"]: s.value for s in parse(registry.render())["t_live"][2]}
    assert values["b"] == 5.0


def test_a_failing_callback_drops_its_sample_but_not_the_page() -> None:
    registry = Registry()
    gauge = registry.gauge("t_g", "G.", ["k"])
    gauge.labels(k="ok").set(1)

    def broken() -> float:
        raise RuntimeError("mailbox gone")

    def broken_collector() -> None:
        raise RuntimeError("actor tree gone")

    gauge.labels(k="broken").set_function(broken)
    registry.register_collector(broken_collector)

    samples = parse(registry.render())["t_g"][2]

    assert [(s.labels["k"], s.value) for s in samples] == [("ok", 1.0)]


def test_removed_series_disappear() -> None:
    registry = Registry()
    depth = registry.gauge("t_d", "D.", ["actor"])
    depth.labels(actor="a").set(1)
    depth.labels(actor="b").set(2)
    depth.remove(actor="a")

    samples = parse(registry.render())["t_d"][2]

    assert [s.labels["actor"] for s in samples] == ["b"]


def test_special_float_values() -> None:
    registry = Registry()
    gauge = registry.gauge("t_special", "S.", ["k"])
    gauge.labels(k="inf").set(math.inf)
    gauge.labels(k="neg").set(-math.inf)
    gauge.labels(k="nan").set(math.nan)

    values = {s.labels["k"]: s.value for s in parse(registry.render())["t_special"][2]}

    assert values["inf"] == math.inf
    assert values["neg"] == -math.inf
    assert math.isnan(values["nan"])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda r: r.counter("t_runs", "x"), "must end in _total"),
        (lambda r: r.gauge("t-bad", "x"), "not a valid Prometheus name"),
        (lambda r: r.gauge("t_g", "x", ["__reserved"]), "label name"),
        (lambda r: r.gauge("t_g", "x", ["a", "a"]), "duplicate label"),
        (lambda r: r.histogram("t_h", "x", ["le"]), "'le' is reserved"),
        (lambda r: r.histogram("t_h", "x", buckets=[1, 1]), "increase strictly"),
    ],
)
def test_invalid_definitions_are_rejected(build: object, message: str) -> None:
    registry = Registry()
    with pytest.raises(ValueError, match=message):
        build(registry)  # type: ignore[operator]


def test_duplicate_names_and_wrong_labels_are_rejected() -> None:
    registry = Registry()
    counter = registry.counter("t_x_total", "X.", ["flow"])
    with pytest.raises(ValueError, match="already registered"):
        registry.gauge("t_x_total", "again")
    with pytest.raises(ValueError, match=r"takes labels \['flow'\]"):
        counter.labels(flow="a", extra="b")
    with pytest.raises(ValueError, match="only go up"):
        counter.labels(flow="a").inc(-1)


def test_service_registry_exposes_the_documented_metrics() -> None:
    expected = {
        "mlc_flow_runs": ("counter", {"flow", "status"}),
        "mlc_flow_run_duration_seconds": ("histogram", {"flow"}),
        "mlc_records": ("counter", {"flow", "status"}),
        "mlc_http_requests": ("counter", {"system", "route", "status"}),
        "mlc_http_request_duration_seconds": ("histogram", {"system"}),
        "mlc_http_retries": ("counter", {"system", "reason"}),
        "mlc_rate_limit_waits": ("counter", {"system"}),
        "mlc_token_refreshes": ("counter", {"connection"}),
        "mlc_connection_up": ("gauge", {"connection"}),
        "mlc_actor_restarts": ("counter", {"actor"}),
        "mlc_actor_mailbox_depth": ("gauge", {"actor"}),
        "mlc_flow_last_success_timestamp_seconds": ("gauge", {"flow"}),
        "mlc_build_info": ("gauge", {"version"}),
    }
    declared = {
        metric.name.removesuffix("_total"): (metric.type_name, set(metric.labelnames))
        for metric in (
            metrics.FLOW_RUNS,
            metrics.FLOW_RUN_DURATION,
            metrics.RECORDS,
            metrics.HTTP_REQUESTS,
            metrics.HTTP_REQUEST_DURATION,
            metrics.HTTP_RETRIES,
            metrics.RATE_LIMIT_WAITS,
            metrics.TOKEN_REFRESHES,
            metrics.CONNECTION_UP,
            metrics.ACTOR_RESTARTS,
            metrics.ACTOR_MAILBOX_DEPTH,
            metrics.FLOW_LAST_SUCCESS,
            metrics.BUILD_INFO,
        )
    }
    assert declared == expected

    families = parse(metrics.REGISTRY.render())

    assert {name: kind for name, (kind, _, _) in families.items()} == {
        name: kind for name, (kind, _) in expected.items()
    }
    build = families["mlc_build_info"][2]
    assert [(s.labels, s.value) for s in build] == [({"version": __version__}, 1.0)]
