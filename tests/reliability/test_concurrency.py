"""Concurrency, raced on purpose: a base connection deleted while a flow is being created on it
never leaves a flow pointing at nothing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.services.context import ServiceContext
from tests.conftest import Identity
from tests.flows import CAT, CRM_TO_AEP, FS, HUBSPOT, LAKE_SPEC

ROUNDS = 30


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
