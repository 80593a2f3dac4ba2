"""``/metrics`` after a real run: Prometheus text that parses, run and record counters that match
the run's own metrics, HubSpot requests and 429s by portal, and request latency per route."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.emulator.hubspot.faults import FaultPlan, FaultRule
from headwater.engine.counting import count_requests
from headwater.engine.worker import Worker
from headwater.services import sources
from headwater.services.context import ServiceContext
from headwater.services.metrics import HttpMetrics, render_metrics
from headwater.store.metrics import add_counters
from tests.conftest import Identity
from tests.notifications.support import FS, build_flow, oauth_params, revoked_params, runs_of

SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? '
    r"(?P<value>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf|NaN))$"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Series, dict[str, str]]:
    """A strict reader of the text exposition format: every line is a comment or a sample, and a
    family's TYPE comes before its samples."""
    samples: Series = {}
    types: dict[str, str] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types, f"family {name} declared twice"
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m["name"]
        family = re.sub(r"_(bucket|count|sum)$", "", name) if name not in types else name
        assert family in types, f"{name} has no TYPE before it"
        labels = frozenset(LABEL.findall(m["labels"] or ""))
        key = (name, labels)
        assert key not in samples, f"duplicate series {key}"
        samples[key] = float(m["value"].replace("Inf", "inf"))
    return samples, types


def value(samples: Series, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def limited_emu() -> Iterator:
    """A portal that refuses the second object request once with a 429."""
    plan = FaultPlan([FaultRule("429", endpoint="objects.*", on_requests=frozenset({2}))])
    with serve_in_thread(
        EmulatorConfig(seed=5, contacts=400, companies=10, deals=5, tickets=5, faults=plan)
    ) as running:
        yield running


def scrape(client: TestClient) -> tuple[Series, dict[str, str]]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


def test_metrics_after_runs(
    client: TestClient, ident: Identity, wired: ServiceContext, limited_emu
) -> None:
    wired.connector_settings.get(HubSpotSettings).base_url = limited_emu.base_url
    portal = str(limited_emu.portal_id)
    before, types = scrape(client)
    assert types["headwater_runs_total"] == "counter"
    assert types["headwater_http_request_duration_seconds"] == "histogram"

    ok = build_flow(client, ident, oauth_params(limited_emu))
    bad = build_flow(client, ident, revoked_params(limited_emu))
    worker = Worker(wired, open_connector=count_requests(sources.open_connector), name="w-metrics")
    assert worker.run_until_idle() == 2
    ok_run = runs_of(client, ident, ok["flow"])[0]
    assert runs_of(client, ident, bad["flow"])[0]["metrics"]["statusSummary"]["status"] == "failed"
    summary = ok_run["metrics"]["recordSummary"]
    assert ok_run["metrics"]["statusSummary"]["status"] == "success"

    after, _ = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("headwater_runs_total", status="success") == 1
    assert delta("headwater_runs_total", status="failed") == 1
    assert delta("headwater_records_read_total") == summary["inputRecordCount"] > 0
    assert delta("headwater_records_written_total") == summary["outputRecordCount"] > 0
    assert delta("headwater_hubspot_requests_total", portal=portal) >= 5  # 4 pages, a retry, ...
    assert delta("headwater_hubspot_429_total", portal=portal) == 1
    assert value(after, "headwater_runs_in_state", status="inProgress") >= 0

    # the latency histogram saw the API calls above, under their route templates
    route = "/data/foundation/flowservice/flows"
    labels = {"method": "POST", "route": route, "status": "201"}
    count = value(after, "headwater_http_request_duration_seconds_count", **labels)
    assert count >= 2
    assert (
        value(after, "headwater_http_request_duration_seconds_bucket", **labels, le="+Inf") == count
    )
    buckets = sorted(
        (float(dict(k[1])["le"].replace("+Inf", "inf")), v)
        for k, v in after.items()
        if k[0] == "headwater_http_request_duration_seconds_bucket"
        and {("method", "POST"), ("route", route), ("status", "201")} <= k[1]
    )
    assert math.isinf(buckets[-1][0])
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(buckets))
    assert value(after, "headwater_http_request_duration_seconds_sum", **labels) > 0
    runs_route = {"method": "GET", "route": "/data/foundation/flowservice/runs", "status": "200"}
    assert value(after, "headwater_http_request_duration_seconds_count", **runs_route) >= 2
    # ids never become labels: unknown paths share one series
    client.get(f"{FS}/no-such-thing/123", headers=ident.headers())
    client.get("/nothing-here/456")
    final, _ = scrape(client)
    routes = {dict(k[1]).get("route") for k in final if k[0].startswith("headwater_http")}
    assert not any(r and ("123" in r or "456" in r) for r in routes)
    assert "unmatched" in routes


def test_metrics_need_no_credentials_and_escape_labels(wired: ServiceContext) -> None:
    add_counters(
        wired.engine,
        [("headwater_hubspot_requests_total", {"portal": 'we"ird\\por\ntal'}, 3)],
        now=wired.clock(),
    )
    http = HttpMetrics()
    http.observe("GET", "/x", 200, 0.003)
    http.observe("GET", "/x", 200, 7.0)
    samples, _ = parse(render_metrics(wired, http))
    assert value(samples, "headwater_hubspot_requests_total", portal='we\\"ird\\\\por\\ntal') >= 3
    le = {"method": "GET", "route": "/x", "status": "200"}
    assert value(samples, "headwater_http_request_duration_seconds_bucket", **le, le="0.005") == 1
    assert value(samples, "headwater_http_request_duration_seconds_bucket", **le, le="5") == 1
    assert value(samples, "headwater_http_request_duration_seconds_bucket", **le, le="10") == 2
    assert value(samples, "headwater_http_request_duration_seconds_sum", **le) == pytest.approx(
        7.003
    )
