"""Concurrency, raced on purpose: 50 PATCHes of one connection with the same etag against a real
``headwater serve`` give exactly one 200 and 49 412s; a base connection deleted while a flow is
being created on it never leaves a flow pointing at nothing; two runs of one flow never overlap."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.connectors.hubspot import HubSpotSettings
from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.engine import scheduler
from headwater.engine.worker import Worker
from headwater.services import sources
from headwater.services.context import ServiceContext
from headwater.store import tables
from tests.conftest import Identity
from tests.e2e.conftest import live_identity, start_server, stop_group
from tests.flows import CAT, CRM_TO_AEP, FS, HUBSPOT, LAKE_SPEC, build_flow, oauth_params

ROUNDS = 30
PATCHERS = 50
BASE_BODY = {
    "name": "race",
    "auth": {
        "specName": "Basic Authentication",
        "params": {"clientId": "a", "clientSecret": "b", "accessToken": "c", "refreshToken": "d"},
    },
    "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
}


def _base_http(c: httpx.Client, h: dict[str, str]) -> str:
    r = c.post(f"{FS}/connections", headers=h, json=BASE_BODY)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
def app(ctx: ServiceContext) -> Iterator[object]:
    application = create_app(ctx)
    with TestClient(application):
        yield application


def _base(c: TestClient, h: dict[str, str]) -> str:
    r = c.post(
        f"{FS}/connections",
        headers=h,
        json={
            "name": "race",
            "auth": {
                "specName": "Basic Authentication",
                "params": {
                    "clientId": "a",
                    "clientSecret": "b",
                    "accessToken": "c",
                    "refreshToken": "d",
                },
            },
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _source(c: TestClient, h: dict[str, str], base: str) -> str:
    r = c.post(
        f"{FS}/sourceConnections",
        headers=h,
        json={
            "name": "src",
            "baseConnectionId": base,
            "data": {"format": "tabular"},
            "params": {"path": "Hubspot.Contacts"},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_base_connection_deleted_while_a_flow_is_created_on_it(
    app: object, ident: Identity, reliability_counts
) -> None:
    setup = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    h = ident.headers()
    ds = setup.post(f"{CAT}/dataSets", headers=h, json={"name": f"race-{time.time_ns()}"})
    ds_id = ds.json()[0].split("/")[-1]
    target = setup.post(
        f"{FS}/targetConnections",
        headers=h,
        json={
            "name": "lake",
            "data": {"format": "delta"},
            "params": {"dataSetId": ds_id},
            "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"},
        },
    ).json()["id"]
    creator = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    deleter = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    outcomes: Counter[tuple[int, int]] = Counter()
    for i in range(ROUNDS):
        base = _base(setup, h)
        source = _source(setup, h, base)
        gate = threading.Barrier(2)
        got: dict[str, int] = {}

        def create(i: int, source: str, gate: threading.Barrier, got: dict[str, int]) -> None:
            gate.wait()
            r = creator.post(
                f"{FS}/flows",
                headers=h,
                json={
                    "name": f"race {i}",
                    "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
                    "sourceConnectionIds": [source],
                    "targetConnectionIds": [target],
                    "scheduleParams": {"frequency": "minute", "interval": 15, "startTime": 1},
                },
            )
            got["create"] = r.status_code

        def delete(i: int, base: str, gate: threading.Barrier, got: dict[str, int]) -> None:
            gate.wait()
            if i % 2:
                time.sleep(0.002 * (i % 5))  # vary who gets there first
            got["delete"] = deleter.delete(f"{FS}/connections/{base}", headers=h).status_code

        threads = [
            threading.Thread(target=create, args=(i, source, gate, got)),
            threading.Thread(target=delete, args=(i, base, gate, got)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        outcomes[(got["create"], got["delete"])] += 1

    # the invariant, from the store's records: every flow's base connection exists
    flows = setup.get(f"{FS}/flows", params={"limit": "1000"}, headers=h).json()["items"]
    dangling = []
    for flow in flows:
        for item in flow["inheritedAttributes"]["sourceConnections"]:
            base_id = item["baseConnection"]["id"]
            if setup.get(f"{FS}/connections/{base_id}", headers=h).status_code != 200:
                dangling.append((flow["id"], base_id))
    both = outcomes[(201, 204)]
    reliability_counts(
        "delete base while creating a flow",
        rounds=ROUNDS,
        dangling_flows=len(dangling),
        failures=len(dangling) + both,
    )
    assert not dangling, f"flows left pointing at deleted base connections: {dangling}; {outcomes}"
    assert both == 0, outcomes
    assert set(outcomes) <= {(201, 400), (400, 204), (404, 204)}, outcomes


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("sqlite", marks=pytest.mark.slow),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def test_fifty_patches_with_one_etag_against_a_real_serve(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, reliability_counts
) -> None:
    extra = {}
    if backend == "postgres":
        extra["HEADWATER_DATABASE_URL"] = request.getfixturevalue("pg_url")
    proc, base, env = start_server(tmp_path / "home", extra_env=extra, serve_args=("--no-engine",))
    try:
        live = live_identity(base, env)
        h = live.headers() | {"Content-Type": "application/json"}
        with httpx.Client(base_url=base, timeout=60) as c:
            conn_id = _base_http(c, h)
        rounds, results = 3, []
        for rnd in range(rounds):
            with httpx.Client(base_url=base, timeout=60) as c:
                etag = c.get(f"{FS}/connections/{conn_id}", headers=h).json()["items"][0]["etag"]
            gate = threading.Barrier(PATCHERS)
            statuses: list[int] = []

            def patch(value: str, etag: str, gate: threading.Barrier, statuses: list[int]) -> None:
                with httpx.Client(base_url=base, timeout=60) as c:
                    c.get("/health/live")  # connected before the gate opens
                    gate.wait()
                    r = c.patch(
                        f"{FS}/connections/{conn_id}",
                        headers=h | {"If-Match": etag},
                        json=[{"op": "replace", "path": "/description", "value": value}],
                    )
                statuses.append(r.status_code)  # list.append is atomic

            threads = [
                threading.Thread(target=patch, args=(f"{rnd}-{n}", etag, gate, statuses))
                for n in range(PATCHERS)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            results.append(Counter(statuses))
        with httpx.Client(base_url=base, timeout=60) as c:
            final = c.get(f"{FS}/connections/{conn_id}", headers=h).json()["items"][0]
    finally:
        stop_group(proc)
    want = Counter({200: 1, 412: PATCHERS - 1})
    reliability_counts(
        f"50 PATCHes, one etag ({backend})",
        rounds=rounds,
        requests=rounds * PATCHERS,
        failures=sum(1 for got in results if got != want),
    )
    assert all(got == want for got in results), results
    assert final["description"].startswith(f"{rounds - 1}-")


def test_two_runs_of_one_flow_never_overlap(
    ctx: ServiceContext, ident: Identity, reliability_counts
) -> None:
    """Run now from several clients at once, the scheduler ticking and three workers (two runs at
    a time each, no portal limit in the way): the store never holds two runs of one flow in
    progress together, sampled while it happens and checked on the finished runs' times."""
    with serve_in_thread(
        EmulatorConfig(contacts=300, companies=5, deals=5, tickets=5, rate_limit="none")
    ) as emu:
        ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
        application = create_app(ctx)
        with TestClient(application) as client:
            flows = [
                build_flow(client, ident, oauth_params(emu), frequency="minute")["flow"]
                for _ in range(4)
            ]
            stop = threading.Event()
            overlaps: list[tuple[str, int]] = []
            samples = 0

            def sample() -> None:
                nonlocal samples
                q = (
                    sa.select(tables.runs.c.flow_id, sa.func.count())
                    .where(tables.runs.c.status == "inProgress")
                    .group_by(tables.runs.c.flow_id)
                    .having(sa.func.count() > 1)
                )
                while not stop.is_set():
                    with ctx.engine.connect() as conn:
                        overlaps.extend((r[0], r[1]) for r in conn.execute(q).all())
                    samples += 1
                    time.sleep(0.005)

            def run_now(flow_id: str) -> None:
                c = TestClient(application, raise_server_exceptions=False)
                for _ in range(3):
                    r = c.post(f"{FS}/flows/{flow_id}/action?op=run", headers=ident.headers())
                    assert r.status_code == 200, r.text
                    time.sleep(0.2)

            def ticking() -> None:
                while not stop.is_set():
                    scheduler.tick(ctx)
                    stop.wait(0.1)

            workers = [
                Worker(
                    ctx,
                    open_connector=sources.open_connector,
                    concurrency=2,
                    portal_limit=100,
                    poll_s=0.02,
                    name=f"w{n}",
                )
                for n in range(3)
            ]
            background = [threading.Thread(target=sample), threading.Thread(target=ticking)]
            background += [threading.Thread(target=w.run_forever) for w in workers]
            for t in background:
                t.start()
            clients = [threading.Thread(target=run_now, args=(f,)) for f in flows for _ in range(2)]
            for t in clients:
                t.start()
            for t in clients:
                t.join(60)
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                with ctx.engine.connect() as conn:
                    pending = conn.execute(
                        sa.select(sa.func.count()).where(
                            tables.runs.c.flow_id.in_(flows),
                            tables.runs.c.status.in_(["scheduled", "inProgress"]),
                        )
                    ).scalar_one()
                if not pending:
                    break
                time.sleep(0.2)
            stop.set()
            for w in workers:
                w.stop.set()
            for t in background:
                t.join(60)
            with ctx.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(
                        tables.runs.c.flow_id,
                        tables.runs.c.status,
                        tables.runs.c.started_at,
                        tables.runs.c.completed_at,
                        tables.runs.c.attempt,
                    ).where(tables.runs.c.flow_id.in_(flows))
                ).all()
    assert not pending, f"{pending} runs never finished"
    by_flow: dict[str, list[tuple[int, int]]] = {}
    for flow_id, status, started, completed, attempt in rows:
        assert status == "success", (flow_id, status)
        assert attempt == 1, "a run was released and retried: its times say nothing"
        by_flow.setdefault(flow_id, []).append((started, completed))
    crossing = []
    for flow_id, spans in by_flow.items():
        spans.sort()
        crossing += [(flow_id, a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]
    reliability_counts(
        "runs of one flow never overlap",
        runs=len(rows),
        samples=samples,
        failures=len(overlaps) + len(crossing),
    )
    assert len(rows) >= 4 * 7, f"only {len(rows)} runs"  # 6 run-nows and a window per flow
    assert not overlaps, overlaps[:5]
    assert not crossing, crossing[:5]
