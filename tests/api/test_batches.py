"""Catalog's batch list as aepp's ``getBatches`` queries it: filters, ordering and paging."""

from __future__ import annotations

from itertools import count

from fastapi.testclient import TestClient

from headwater.services import datasets
from headwater.services.context import ServiceContext
from tests.conftest import Identity

CAT = "/data/foundation/catalog"


def _seed(ctx: ServiceContext, tenant, ds: str, statuses: list[str]) -> list[str]:
    ticks = count(1_000)
    clock = ctx.clock
    ctx.clock = lambda: next(ticks)  # distinct, increasing creation times
    try:
        return [
            datasets.record_batch(
                ctx,
                tenant,
                ds_id=ds,
                run_id=f"run-{i}",
                flow_id="flow",
                status=status,
                records=i,
                metrics={},
            )
            for i, status in enumerate(statuses)
        ]
    finally:
        ctx.clock = clock


def test_batches_filter_sort_and_page(
    client: TestClient, ctx: ServiceContext, ident: Identity, tenant_of
) -> None:
    tenant = tenant_of(ident)
    h = ident.headers()
    ds = client.post(f"{CAT}/dataSets", json={"name": "b"}, headers=h).json()[0].split("/")[-1]
    other = client.post(f"{CAT}/dataSets", json={"name": "o"}, headers=h).json()[0].split("/")[-1]
    ids = _seed(ctx, tenant, ds, ["success", "failed", "success", "success"])
    _seed(ctx, tenant, other, ["failed"])

    def get(**params: object) -> dict:
        r = client.get(f"{CAT}/batches", params={"dataSet": ds, **params}, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    assert list(get()) == ids
    assert list(get(status="failed")) == [ids[1]]
    assert list(get(orderBy="desc:created")) == ids[::-1]
    assert list(get(orderBy="asc:created", start=1, limit=2)) == ids[1:3]
    created = get()[ids[1]]["created"]
    assert list(get(createdAfter=created)) == ids[2:]
    assert list(get(createdBefore=created)) == ids[:1]
    # aepp pages with start until a page is empty: the end must come
    assert get(orderBy="asc:created", start=4) == {}
    assert list(get(start=1, limit=2)) == ids[1:3]

    bad = client.get(f"{CAT}/batches", params={"orderBy": "sideways:created"}, headers=h)
    assert bad.status_code == 400, bad.text
    assert "orderBy" in bad.json()["report"]["detailed-message"]


def test_datasets_are_classified(client: TestClient, ident: Identity) -> None:
    h = ident.headers()
    merge = client.post(f"{CAT}/dataSets", json={"name": "m"}, headers=h).json()[0].split("/")[-1]
    hist = (
        client.post(
            f"{CAT}/dataSets", json={"name": "h", "headwater": {"writeMode": "history"}}, headers=h
        )
        .json()[0]
        .split("/")[-1]
    )
    listed = client.get(f"{CAT}/dataSets", headers=h).json()
    assert listed[merge]["classification"]["dataBehavior"] == "record"
    assert listed[hist]["classification"]["dataBehavior"] == "time-series"
