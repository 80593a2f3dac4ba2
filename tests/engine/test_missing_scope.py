"""A table whose HubSpot scope the credentials lack fails its own run, naming the table and the
scope, while the same credentials keep reading the tables they may read."""

from __future__ import annotations

from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.engine.worker import Worker
from headwater.services import sources
from headwater.services.context import ServiceContext
from tests.conftest import Identity
from tests.connectors.conftest import live_ids
from tests.engine.test_dataflow import table_ids
from tests.flows import FS, build_flow


def _last_run(client: TestClient, ident: Identity, flow: str) -> dict:
    runs = client.get(
        f"{FS}/runs", params={"property": f"flowId=={flow}"}, headers=ident.headers()
    ).json()["items"]
    assert len(runs) == 1
    return runs[0]


def test_a_run_of_a_table_without_its_scope_names_both_and_other_tables_still_run(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu
) -> None:
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    refresh = emu.state.auth.add_refresh_token(["oauth", "crm.objects.contacts.read"])
    params = {
        "clientId": emu.oauth_client_id,
        "clientSecret": emu.oauth_client_secret,
        "accessToken": "",
        "refreshToken": refresh,
    }
    tickets = build_flow(client, ident, params, table="Hubspot.Tickets")
    contacts = build_flow(client, ident, params, table="Hubspot.Contacts")
    worker = Worker(ctx, open_connector=sources.open_connector, name="w1")
    assert worker.run_until_idle() == 2

    failed = _last_run(client, ident, tickets["flow"])
    summary = failed["metrics"]["statusSummary"]
    assert summary["status"] == "failed", summary
    [error] = summary["errors"]
    assert error["code"] == "CONNECTOR-2403-403"
    assert "Hubspot.Tickets" in error["message"] and "tickets" in error["message"]
    assert "other tables are not affected" in error["message"]

    ok = _last_run(client, ident, contacts["flow"])
    assert ok["metrics"]["statusSummary"]["status"] == "success", ok["metrics"]
    assert sorted(table_ids(ctx, ident, contacts["dataset"]), key=int) == live_ids(emu, "contacts")
    # the connection itself still tests fine
    conn = client.get(f"{FS}/connections/{tickets['base']}/test", headers=ident.headers())
    assert conn.json() == {"result": True}
