"""The ``/metrics`` page and what feeds it.

Run, record and source request counters come from the database (:mod:`headwater.store.metrics`), so the
``/metrics`` of any API process reports what every worker did; the HTTP latency histogram is per
process (:class:`HttpMetrics`, fed by the API middleware). At each scrape a collector reads them
and ``prometheus_client`` writes the text exposition format 0.0.4.

:class:`RunObserver` is the ``ServiceContext`` listener that adds a finished run's record counts
to the shared counters and tags the executing thread's logs with the run id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from headwater.connectors import registry
from headwater.logs import RunTag, tag_run, untag_run
from headwater.services.context import ServiceContext
from headwater.store import metrics as store
from headwater.store.metrics import RECORDS_READ, RECORDS_WRITTEN

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RUNS_TOTAL = "headwater_runs_total"
RUNS_IN_STATE = "headwater_runs_in_state"
HTTP_DURATION = "headwater_http_request_duration_seconds"

_HELP = {
    RUNS_TOTAL: "Flow runs that ended, by final status (from the runs table).",
    RUNS_IN_STATE: "Flow runs waiting or running now, by status (from the runs table).",
    RECORDS_READ: "Records read from sources by finished runs.",
    RECORDS_WRITTEN: "Records written (inserted, updated or deleted) to the lake by finished runs.",
    HTTP_DURATION: "Flow Service API request latency in this process, by route template.",
}
# Each source's request counters, named by its connector (``headwater_<name>_requests_total``).
_HELP |= {
    name: f"{what} {t.title} {to} runs, by {t.account_label}."
    for t in registry.TYPES
    for name, what, to in (
        (t.requests_metric, "HTTP requests sent to", "by"),
        (t.rate_limited_metric, "HTTP 429 answers from", "to"),
    )
}
_SOURCE_COUNTERS = tuple(
    name for t in registry.TYPES for name in (t.requests_metric, t.rate_limited_metric)
)
_TERMINAL = ("success", "failed", "partialSuccess", "cancelled")
_ACTIVE = ("scheduled", "inProgress")


def _bound(value: float) -> str:
    """A bucket bound as the ``le`` label has always shown it (``5``, not ``5.0``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class HttpMetrics:
    """What this API process measured: request latency by method, route template and status
    (a thread-safe histogram with cumulative buckets)."""

    labelnames = ("method", "route", "status")

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.buckets = tuple(sorted(buckets))
        self._lock = threading.Lock()
        self._series: dict[tuple[str, ...], list[float]] = {}  # bucket counts..., count, sum

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """The ``observe`` callback of the API's request middleware."""
        key = (method, route, str(status))
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = [0.0] * (len(self.buckets) + 2)
            for i, bound in enumerate(self.buckets):
                if seconds <= bound:
                    series[i] += 1
            series[-2] += 1
            series[-1] += seconds

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(HTTP_DURATION, _HELP[HTTP_DURATION], labels=self.labelnames)
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        for key, series in items:
            buckets = [(_bound(b), n) for b, n in zip(self.buckets, series, strict=False)]
            family.add_metric(list(key), [*buckets, ("+Inf", series[-2])], series[-1])
        return family


def _counter(name: str, series: Iterable[tuple[dict[str, str], int]]) -> Metric:
    family = Metric(name.removesuffix("_total"), _HELP[name], "counter")
    for labels, value in sorted(series, key=lambda s: sorted(s[0].items())):
        family.add_sample(name, labels, value)
    return family


class _Collector:
    """Reads the shared counters (and this process's histogram) at each scrape."""

    def __init__(self, ctx: ServiceContext, http: HttpMetrics | None) -> None:
        self.ctx = ctx
        self.http = http

    def collect(self) -> Iterator[Metric]:
        counts = store.run_counts(self.ctx.engine)
        statuses = sorted(set(_TERMINAL) | (set(counts) - set(_ACTIVE)))
        yield _counter(RUNS_TOTAL, [({"status": s}, counts.get(s, 0)) for s in statuses])
        gauge = GaugeMetricFamily(RUNS_IN_STATE, _HELP[RUNS_IN_STATE], labels=["status"])
        for s in _ACTIVE:
            gauge.add_metric([s], counts.get(s, 0))
        yield gauge
        counters = store.read_counters(self.ctx.engine)
        for name in (RECORDS_READ, RECORDS_WRITTEN, *_SOURCE_COUNTERS):
            series = counters.get(name, [])
            if name in (RECORDS_READ, RECORDS_WRITTEN) and not series:
                series = [({}, 0)]
            yield _counter(name, series)
        if self.http is not None:
            yield self.http.family()


def render_metrics(ctx: ServiceContext, http: HttpMetrics | None = None) -> str:
    """The whole ``/metrics`` page."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(ctx, http))
    return generate_latest(registry).decode()


# ---------------------------------------------------------------------------------- run listener

_RUN_ENDED = frozenset({"flow.run.succeeded", "flow.run.partially_succeeded", "flow.run.failed"})


class RunObserver:
    """A ``ServiceContext`` listener: counts records of finished runs and tags the executing
    thread's logs with the run id from the run's start to its end."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._tags: dict[int, RunTag] = {}

    def __call__(self, event_type: str, payload: dict[str, Any]) -> None:
        thread = threading.get_ident()
        run_id = payload.get("flowRunId")
        if event_type == "flow.run.started" and isinstance(run_id, str):
            self._untag(thread)  # a run given back without an end event left its id behind
            self._tags[thread] = tag_run(run_id)
            return
        if event_type not in _RUN_ENDED:
            return
        self._untag(thread)
        summary = (payload.get("metrics") or {}).get("recordSummary") or {}
        read = summary.get("inputRecordCount")
        written = summary.get("outputRecordCount")
        store.add_counters(
            self.ctx.engine,
            [
                (RECORDS_READ, {}, read if isinstance(read, int) else 0),
                (RECORDS_WRITTEN, {}, written if isinstance(written, int) else 0),
            ],
            now=self.ctx.clock(),
        )

    def _untag(self, thread: int) -> None:
        tag = self._tags.pop(thread, None)
        if tag is not None:
            untag_run(tag)


def install(ctx: ServiceContext) -> None:
    """Register the run observer on ``ctx`` (once)."""
    if not any(isinstance(listener, RunObserver) for listener in ctx.listeners):
        ctx.listeners.append(RunObserver(ctx))
