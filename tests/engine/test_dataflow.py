"""The whole dataflow in one process: Flow Service API → scheduler/worker → HubSpot emulator →
Delta Lake, then an incremental run after changes in HubSpot."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.engine import scheduler
from headwater.engine.worker import Worker
from headwater.lake import TableRef
from headwater.services import sources
from headwater.services.context import ServiceContext
from tests.conftest import Identity
from tests.connectors.conftest import archived_ids, live_ids
from tests.flows import CAT, FS, build_flow, oauth_params


def table_ids(ctx: ServiceContext, ident: Identity, ds_id: str) -> list[str]:
    assert ctx.lake is not None
    data = ctx.lake.dataset(TableRef(ident.org_id, "prod", ds_id))
    assert data is not None
    return data.to_table(columns=["Id"]).column("Id").to_pylist()


def test_once_flow_lands_contacts_then_incremental(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu
) -> None:
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    made = build_flow(client, ident, oauth_params(emu))
    worker = Worker(ctx, open_connector=sources.open_connector, name="w1")
    assert worker.run_until_idle() == 1

    runs = client.get(
        f"{FS}/runs", params={"property": f"flowId=={made['flow']}"}, headers=ident.headers()
    ).json()["items"]
    assert len(runs) == 1
    run = runs[0]
    assert run["metrics"]["statusSummary"]["status"] == "success", run["metrics"]
    expected = live_ids(emu, "contacts")
    ids = table_ids(ctx, ident, made["dataset"])
    assert sorted(ids, key=int) == expected
    assert len(set(ids)) == len(ids)
    rs = run["metrics"]["recordSummary"]
    assert rs["inputRecordCount"] == len(expected) + len(archived_ids(emu, "contacts"))
    assert rs["createdRecordCount"] == len(expected)
    assert {a["id"] for a in run["activities"]} == {"copyActivity", "promotionActivity"}
    flow = client.get(f"{FS}/flows/{made['flow']}", headers=ident.headers()).json()["items"][0]
    assert (
        flow["lastRunDetails"]["id"] == run["id"] and flow["lastRunDetails"]["state"] == "success"
    )
    batches = client.get(
        f"{CAT}/batches", params={"dataSet": made["dataset"]}, headers=ident.headers()
    ).json()
    assert len(batches) == 1

    # change HubSpot, then run again
    time.sleep(0.01)
    touched = emu.state.touch("contacts", 500)
    archived = emu.state.archive("contacts", 20)
    r = client.post(
        f"{FS}/flows/{made['flow']}/action", params={"op": "RUN"}, headers=ident.headers()
    )
    assert r.status_code == 200, r.text
    assert worker.run_until_idle() == 1
    runs = client.get(
        f"{FS}/runs",
        params={"property": f"flowId=={made['flow']}", "orderby": "-createdAt"},
        headers=ident.headers(),
    ).json()["items"]
    second = runs[0]
    assert second["metrics"]["statusSummary"]["status"] == "success", second["metrics"]
    read = second["metrics"]["recordSummary"]["inputRecordCount"]
    assert len(set(touched) - set(archived)) <= read <= len(touched) + len(archived) + 50, read
    ids = table_ids(ctx, ident, made["dataset"])
    assert sorted(ids, key=int) == live_ids(emu, "contacts")
    assert second["metrics"]["recordSummary"]["deletedRecordCount"] == len(archived)

    preview = client.get(
        f"{CAT}/dataSets/{made['dataset']}/preview", params={"limit": 5}, headers=ident.headers()
    ).json()
    assert len(preview["data"]) == 5


def test_schedulers_ticking_at_once_queue_the_window_once(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu
) -> None:
    """Several schedulers (each ``headwater worker --scheduler`` runs one) may tick the same
    window at the same moment: the window's run is queued once."""
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    made = build_flow(client, ident, oauth_params(emu), frequency="minute")
    together = threading.Barrier(4)
    failed: list[BaseException] = []

    def tick() -> None:
        together.wait()
        try:
            scheduler.tick(ctx)
        except BaseException as exc:  # reported below: a thread's exception is lost otherwise
            failed.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failed, failed
    runs = client.get(
        f"{FS}/runs", params={"property": f"flowId=={made['flow']}"}, headers=ident.headers()
    ).json()["items"]
    assert len(runs) == 1, runs
    r = client.post(f"{FS}/flows/{made['flow']}/action?op=disable", headers=ident.headers())
    assert r.status_code == 200, r.text


def test_scheduler_is_idempotent_and_delete_order_enforced(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu
) -> None:
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    made = build_flow(client, ident, oauth_params(emu), frequency="minute")
    assert scheduler.tick(ctx) >= 1
    assert scheduler.tick(ctx) == 0  # same window: nothing new
    runs = client.get(
        f"{FS}/runs", params={"property": f"flowId=={made['flow']}"}, headers=ident.headers()
    ).json()["items"]
    assert len(runs) == 1 and runs[0]["metrics"]["statusSummary"]["status"] == "scheduled"
    r = client.delete(f"{FS}/connections/{made['base']}", headers=ident.headers())
    assert r.status_code == 400 and r.json()["type"].endswith("FLOW-1418-400")
    r = client.post(f"{FS}/runs", headers=ident.headers(), json={"flowId": made["flow"]})
    assert r.status_code == 400  # ad-hoc runs only for "once" flows
    dis = client.post(f"{FS}/flows/{made['flow']}/action?op=disable", headers=ident.headers())
    assert dis.status_code == 200
    flow = client.get(f"{FS}/flows/{made['flow']}", headers=ident.headers()).json()["items"][0]
    assert flow["state"] == "disabled"
    assert flow["lastOperation"]["operation"] == "disable"
    patched = client.patch(
        f"{FS}/flows/{made['flow']}",
        headers=ident.headers() | {"If-Match": flow["etag"]},
        json=[{"op": "replace", "path": "/name", "value": "renamed"}],
    )
    assert patched.status_code == 200, patched.text
    flow = client.get(f"{FS}/flows/{made['flow']}", headers=ident.headers()).json()["items"][0]
    assert flow["lastOperation"]["operation"] == "update"
    assert flow["lastOperation"]["ops"] == [{"op": "replace", "path": "/name", "value": "renamed"}]
    again = client.post(f"{FS}/flows/{made['flow']}/action?op=disable", headers=ident.headers())
    assert again.json()["type"].endswith("FLOW-1422-400")
    failed = client.get(
        f"{FS}/runs",
        params={"property": [f"flowId=={made['flow']}", "metrics.statusSummary.status==Failed"]},
        headers=ident.headers(),
    )
    assert failed.json()["items"] == []
    assert client.delete(f"{FS}/flows/{made['flow']}", headers=ident.headers()).status_code == 204
    assert (
        client.delete(f"{FS}/connections/{made['base']}", headers=ident.headers()).status_code
        == 204
    )
