"""Lists and marketing tables through the whole dataflow: Flow Service API → worker → HubSpot
emulator → Delta Lake, a change through HubSpot's write APIs, then the next run."""

from __future__ import annotations

import time

import httpx
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.engine.worker import Worker
from headwater.services import sources
from headwater.services.context import ServiceContext
from tests.conftest import Identity
from tests.engine.test_dataflow import table_ids
from tests.flows import FS, build_flow, oauth_params


def _runs(client: TestClient, ident: Identity, flow: str) -> list[dict]:
    return client.get(
        f"{FS}/runs",
        params={"property": f"flowId=={flow}", "orderby": "-createdAt"},
        headers=ident.headers(),
    ).json()["items"]


def _run_again(client: TestClient, ident: Identity, worker: Worker, flow: str) -> dict:
    r = client.post(f"{FS}/flows/{flow}/action", params={"op": "RUN"}, headers=ident.headers())
    assert r.status_code == 200, r.text
    assert worker.run_until_idle() == 1
    run = _runs(client, ident, flow)[0]
    assert run["metrics"]["statusSummary"]["status"] == "success", run["metrics"]
    return run


def test_email_events_and_submissions_land_exactly_then_append_after_writes(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu
) -> None:
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    mk = emu.state.marketing
    events = build_flow(client, ident, oauth_params(emu), table="Hubspot.Email_Events")
    subs = build_flow(client, ident, oauth_params(emu), table="Hubspot.Form_Submissions")
    members = build_flow(client, ident, oauth_params(emu), table="Hubspot.List_Memberships")
    worker = Worker(ctx, open_connector=sources.open_connector, name="w1")
    assert worker.run_until_idle() == 3
    for made in (events, subs, members):
        run = _runs(client, ident, made["flow"])[0]
        assert run["metrics"]["statusSummary"]["status"] == "success", run["metrics"]
    expected_events = sorted(f"{e['created']}-{e['id']}" for e in mk.events)
    assert sorted(table_ids(ctx, ident, events["dataset"])) == expected_events
    expected_subs = sorted(s.conversion_id for rows in mk.submissions.values() for s in rows)
    assert sorted(table_ids(ctx, ident, subs["dataset"])) == expected_subs
    store = emu.state.stores["contacts"]
    expected_members = sorted(
        f"{cl.list_id}-{rid}" for cl in emu.state.lists for rid in cl.members_from(0, 10**6, store)
    )
    assert sorted(table_ids(ctx, ident, members["dataset"])) == expected_members

    # a send and a submission through HubSpot's APIs, then the next runs append exactly those
    headers = {"Authorization": f"Bearer {emu.private_app_token}"}
    with httpx.Client(base_url=emu.base_url, headers=headers) as api:
        email = mk.emails[0]["id"]
        assert api.post(f"/marketing/v3/emails/{email}/publish").status_code == 204
        form = mk.forms[0]["id"]
        sent = api.post(
            f"/submissions/v3/integration/secure/submit/{emu.portal_id}/{form}",
            json={"fields": [{"name": "email", "value": "flow@headwater-demo.test"}]},
        )
        assert sent.status_code == 200
    # the connector's window ends when the run starts, on the real clock: a send's later events
    # (processed a second later, delivered a minute later) wait for a later run
    before = int(time.time() * 1000)
    second = _run_again(client, ident, worker, events["flow"])
    after = int(time.time() * 1000)
    landed = set(table_ids(ctx, ident, events["dataset"]))
    fresh = landed - set(expected_events)
    assert {f"{e['created']}-{e['id']}" for e in mk.events if e["created"] < before} <= landed
    assert all(int(k.split("-")[0]) < after for k in fresh)
    assert len(fresh) >= len(emu.state.lists[0].members_from(0, 10**6, store)) > 0
    assert second["metrics"]["recordSummary"]["createdRecordCount"] == len(fresh)
    again = _run_again(client, ident, worker, subs["flow"])
    assert again["metrics"]["recordSummary"]["createdRecordCount"] == 1
    assert len(table_ids(ctx, ident, subs["dataset"])) == len(expected_subs) + 1

    # a membership added and one removed: the next run writes only those two changes
    manual = next(cl for cl in emu.state.lists if cl.processing_type == "MANUAL")
    current = manual.members_from(0, 10**6, store)
    joining = next(r for r in range(1, 3000) if r not in current and not store.is_archived(r))
    with httpx.Client(base_url=emu.base_url, headers=headers) as api:
        r = api.put(
            f"/crm/v3/lists/{manual.list_id}/memberships/add-and-remove",
            json={"recordIdsToAdd": [str(joining)], "recordIdsToRemove": [str(current[0])]},
        )
        assert r.json()["recordsIdsAdded"] == [str(joining)]
    third = _run_again(client, ident, worker, members["flow"])
    summary = third["metrics"]["recordSummary"]
    assert summary["createdRecordCount"] == 1 and summary["deletedRecordCount"] == 1
    assert sorted(table_ids(ctx, ident, members["dataset"])) == sorted(
        f"{cl.list_id}-{rid}" for cl in emu.state.lists for rid in cl.members_from(0, 10**6, store)
    )
