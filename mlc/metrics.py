"""The process's Prometheus metrics: a small registry, its text renderer, and every metric.

Hand-written rather than ``prometheus-client`` (ops reference §2): three metric
types, labels and the text exposition format 0.0.4 are about two hundred lines, and owning them
avoids the library's ``_created`` series and its ``_total`` renaming. The tests check the output
with ``prometheus_client``'s own parser.

Every metric the service exposes is defined at the bottom of this module, so names live in one
place. Conventions: names ``mlc_*``, counters end in ``_total``, durations in ``_seconds``, and no
high-cardinality label values (route templates, never URLs with ids).

Not thread-safe: the service updates and renders metrics from its one asyncio thread only. Code
running in worker threads must hand values back to the event loop rather than touch metrics.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from mlc import __version__

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Upper bounds for request-sized durations (seconds); ``+Inf`` is always added.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")

log = logging.getLogger("mlc.metrics")

Collector = Callable[[], None]
_Child = TypeVar("_Child")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _format_labels(pairs: Iterable[tuple[str, str]]) -> str:
    body = ",".join(f'{name}="{_escape_label_value(value)}"' for name, value in pairs)
    return f"{{{body}}}" if body else ""


class _Metric(Generic[_Child]):
    """Shared parts: name, help, label names, and the children keyed by label values."""

    type_name = "untyped"

    def __init__(self, name: str, help: str, labelnames: Sequence[str]) -> None:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"metric name {name!r} is not a valid Prometheus name")
        for label in labelnames:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"metric {name}: label name {label!r} is not valid")
        if len(set(labelnames)) != len(labelnames):
            raise ValueError(f"metric {name}: duplicate label names in {list(labelnames)}")
        self.name = name
        self.help = help
        self.labelnames: tuple[str, ...] = tuple(labelnames)
        self._children: dict[tuple[str, ...], _Child] = {}

    def _new_child(self) -> _Child:
        raise NotImplementedError

    def _key(self, labels: dict[str, object]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(
                f"metric {self.name} takes labels {list(self.labelnames)}, got {sorted(labels)}"
            )
        return tuple(str(labels[label]) for label in self.labelnames)

    def labels(self, **labels: object) -> _Child:
        """The series with these label values, created on first use."""
        key = self._key(labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._new_child()
        return child

    def remove(self, **labels: object) -> None:
        """Forget the series with these label values (e.g. an actor that no longer exists)."""
        self._children.pop(self._key(labels), None)

    def clear(self) -> None:
        """Forget every series of this metric."""
        self._children.clear()

    def _series(self) -> Iterator[tuple[list[tuple[str, str]], _Child]]:
        for key in sorted(self._children):
            yield list(zip(self.labelnames, key, strict=True)), self._children[key]

    def _samples(self) -> Iterator[str]:
        raise NotImplementedError

    def render(self) -> str:
        lines = [
            f"# HELP {self.name} {_escape_help(self.help)}",
            f"# TYPE {self.name} {self.type_name}",
            *self._samples(),
        ]
        return "\n".join(lines) + "\n"


class CounterChild:
    """One counter series."""

    def __init__(self) -> None:
        self._value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError(f"counters only go up; cannot add {amount}")
        self._value += amount

    @property
    def value(self) -> float:
        return self._value


class GaugeChild:
    """One gauge series: set directly, or read from a callback at scrape time."""

    def __init__(self) -> None:
        self._value = 0.0
        self._function: Callable[[], float] | None = None

    def set(self, value: float) -> None:
        self._function = None
        self._value = float(value)

    def inc(self, amount: float = 1.0) -> None:
        self._value += amount

    def dec(self, amount: float = 1.0) -> None:
        self._value -= amount

    def set_function(self, function: Callable[[], float]) -> None:
        """Read the value from ``function`` whenever the registry renders (e.g. a mailbox depth)."""
        self._function = function

    @property
    def value(self) -> float:
        return float(self._function()) if self._function is not None else self._value


class HistogramChild:
    """One histogram series: per-bucket counts, sum and count."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self._counts = [0] * len(bounds)
        self._sum = 0.0
        self._count = 0

    def observe(self, value: float) -> None:
        if math.isnan(value):
            raise ValueError("cannot observe NaN")
        for index, bound in enumerate(self._bounds):
            if value <= bound:
                self._counts[index] += 1
                break
        self._sum += value
        self._count += 1

    @property
    def count(self) -> int:
        return self._count

    @property
    def sum(self) -> float:
        return self._sum

    def cumulative(self) -> list[tuple[float, int]]:
        """``(upper bound, observations <= bound)`` for every bucket, ending with ``+Inf``."""
        total = 0
        result = []
        for bound, count in zip(self._bounds, self._counts, strict=True):
            total += count
            result.append((bound, total))
        return result


class Counter(_Metric[CounterChild]):
    type_name = "counter"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        if not name.endswith("_total"):
            raise ValueError(f"counter {name!r} must end in _total")
        super().__init__(name, help, labelnames)

    def _new_child(self) -> CounterChild:
        return CounterChild()

    def inc(self, amount: float = 1.0) -> None:
        """Increment the series of a metric without labels."""
        self.labels().inc(amount)

    def _samples(self) -> Iterator[str]:
        for pairs, child in self._series():
            yield f"{self.name}{_format_labels(pairs)} {_format_value(child.value)}"


class Gauge(_Metric[GaugeChild]):
    type_name = "gauge"

    def _new_child(self) -> GaugeChild:
        return GaugeChild()

    def set(self, value: float) -> None:
        """Set the series of a metric without labels."""
        self.labels().set(value)

    def _samples(self) -> Iterator[str]:
        for pairs, child in self._series():
            try:
                value = child.value
            except Exception:
                log.exception("metrics_callback_failed", extra={"metric": self.name})
                continue
            yield f"{self.name}{_format_labels(pairs)} {_format_value(value)}"


class Histogram(_Metric[HistogramChild]):
    type_name = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        if "le" in labelnames:
            raise ValueError(f"histogram {name}: 'le' is reserved for buckets")
        super().__init__(name, help, labelnames)
        bounds = [float(bound) for bound in buckets if not math.isinf(bound)]
        if not bounds or any(later <= earlier for earlier, later in itertools.pairwise(bounds)):
            raise ValueError(f"histogram {name}: buckets must increase strictly, got {buckets}")
        self.buckets: tuple[float, ...] = (*bounds, math.inf)

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self.buckets)

    def observe(self, value: float) -> None:
        """Observe into the series of a metric without labels."""
        self.labels().observe(value)

    def _samples(self) -> Iterator[str]:
        for pairs, child in self._series():
            for bound, count in child.cumulative():
                labels = _format_labels([*pairs, ("le", _format_value(bound))])
                yield f"{self.name}_bucket{labels} {count}"
            labels = _format_labels(pairs)
            yield f"{self.name}_sum{labels} {_format_value(child.sum)}"
            yield f"{self.name}_count{labels} {child.count}"


class Registry:
    """A set of metrics and scrape-time collectors, rendered in the text format 0.0.4."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric[Any]] = {}
        self._collectors: list[Collector] = []

    def _add(self, metric: _Metric[Any]) -> None:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        metric = Counter(name, help, labelnames)
        self._add(metric)
        return metric

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        metric = Gauge(name, help, labelnames)
        self._add(metric)
        return metric

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        metric = Histogram(name, help, labelnames, buckets)
        self._add(metric)
        return metric

    def register_collector(self, collector: Collector) -> Callable[[], None]:
        """Call ``collector`` before every render, to refresh gauges from live state.

        Returns a function that unregisters it (for an actor that stops).
        """
        self._collectors.append(collector)

        def unregister() -> None:
            if collector in self._collectors:
                self._collectors.remove(collector)

        return unregister

    def render(self) -> str:
        """Every metric, in registration order, as Prometheus text exposition format 0.0.4."""
        for collector in list(self._collectors):
            try:
                collector()
            except Exception:
                log.exception("metrics_collector_failed")
        return "".join(metric.render() for metric in self._metrics.values())


REGISTRY = Registry()

_RUN_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
_HTTP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

FLOW_RUNS = REGISTRY.counter(
    "mlc_flow_runs_total", "Flow runs finished, by outcome.", ["flow", "status"]
)


def run_status_label(status: str) -> str:
    """A finished run's ``status`` label: ``success``, ``partial``, ``failed``, ``interrupted``.

    The store says ``succeeded`` (a run's state); dashboards and alerts count ``success`` (an
    outcome), as the operating contract names it.
    """
    return "success" if status == "succeeded" else status


FLOW_RUN_DURATION = REGISTRY.histogram(
    "mlc_flow_run_duration_seconds", "Wall time of a flow run.", ["flow"], _RUN_BUCKETS
)
RECORDS = REGISTRY.counter(
    "mlc_records_total", "Business records handled, by final status.", ["flow", "status"]
)
HTTP_REQUESTS = REGISTRY.counter(
    "mlc_http_requests_total",
    "HTTP attempts by system, route template and status code ('error' when no response).",
    ["system", "route", "status"],
)
HTTP_REQUEST_DURATION = REGISTRY.histogram(
    "mlc_http_request_duration_seconds", "Duration of one HTTP attempt.", ["system"], _HTTP_BUCKETS
)
HTTP_RETRIES = REGISTRY.counter(
    "mlc_http_retries_total", "HTTP attempts retried, by reason.", ["system", "reason"]
)
RATE_LIMIT_WAITS = REGISTRY.counter(
    "mlc_rate_limit_waits_total",
    "Requests that had to wait for the client-side rate limiter.",
    ["system"],
)
TOKEN_REFRESHES = REGISTRY.counter(
    "mlc_token_refreshes_total", "Authentication tokens obtained or refreshed.", ["connection"]
)
CONNECTION_UP = REGISTRY.gauge(
    "mlc_connection_up",
    "1 when the last authentication or request to the connection succeeded, else 0.",
    ["connection"],
)
ACTOR_RESTARTS = REGISTRY.counter(
    "mlc_actor_restarts_total", "Actor restarts by the supervisor.", ["actor"]
)
ACTOR_MAILBOX_DEPTH = REGISTRY.gauge(
    "mlc_actor_mailbox_depth", "Messages waiting in an actor's mailbox.", ["actor"]
)
FLOW_LAST_SUCCESS = REGISTRY.gauge(
    "mlc_flow_last_success_timestamp_seconds",
    "Unix time of the flow's last successful run.",
    ["flow"],
)
BUILD_INFO = REGISTRY.gauge("mlc_build_info", "Always 1; the running version.", ["version"])
BUILD_INFO.labels(version=__version__).set(1)
