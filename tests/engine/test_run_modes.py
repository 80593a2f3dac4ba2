"""Run params through the whole engine in one process (API → worker → emulator → Delta): resets
with ``params.mode`` (for every table or a named one), refused unknown params, and the flow's own
read options (``associationsEverySeconds``) with the dataset's rows handed to the connector."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.engine.worker import Worker
from headwater.lake import TableRef
from headwater.services import sources
from headwater.services.context import ServiceContext
from tests.conftest import Identity
from tests.connectors.conftest import live_ids
from tests.flows import FS, build_flow, oauth_params


@pytest.fixture
def worker(ctx: ServiceContext, emu: Any) -> Worker:
    settings = ctx.connector_settings.get(HubSpotSettings)
    settings.base_url = emu.base_url
    settings.lookback_ms = 0
    return Worker(ctx, open_connector=sources.open_connector, name="w-modes")


def newest_run(client: TestClient, ident: Identity, flow_id: str) -> dict[str, Any]:
    runs = client.get(
        f"{FS}/runs",
        params={"property": f"flowId=={flow_id}", "orderby": "-createdAt"},
        headers=ident.headers(),
    ).json()["items"]
    return dict(runs[0])


def copy_extensions(run: dict[str, Any]) -> dict[str, Any]:
    copy = next(a for a in run["activities"] if a["id"] == "copyActivity")
    return dict(copy["statusSummary"]["extensions"])


def promotion_extensions(run: dict[str, Any]) -> dict[str, Any]:
    act = next(a for a in run["activities"] if a["id"] == "promotionActivity")
    return dict(act["statusSummary"]["extensions"])


def lake_rows(ctx: ServiceContext, ident: Identity, ds: str, columns: list[str]) -> list[dict]:
    assert ctx.lake is not None
    data = ctx.lake.dataset(TableRef(ident.org_id, "prod", ds))
    assert data is not None
    return list(data.to_table(columns=columns).to_pylist())


def post_run(client: TestClient, ident: Identity, body: dict[str, Any]) -> Any:
    return client.post(f"{FS}/runs", headers=ident.headers(), json=body)


def test_unknown_and_invalid_run_params_are_refused_by_name(
    client: TestClient, ident: Identity, emu: Any
) -> None:
    made = build_flow(client, ident, oauth_params(emu), frequency="minute")
    r = post_run(client, ident, {"flowId": made["flow"], "params": {"mode": "full", "reset": 1}})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"].endswith("FLOW-1455-400")
    assert {"field": "params.reset", "message": "is not a run parameter"} in body["report"][
        "details"
    ]
    assert "unknown run params: reset" in r.text
    r = post_run(client, ident, {"flowId": made["flow"], "params": {"mode": "everything"}})
    assert r.status_code == 400 and "params.mode" in r.text
    r = post_run(
        client,
        ident,
        {"flowId": made["flow"], "params": {"mode": "full", "tables": ["Hubspot.Deals"]}},
    )
    assert r.status_code == 400 and "Hubspot.Deals" in r.text
    # without a mode, a recurring flow still refuses ad-hoc runs, as Adobe does
    r = post_run(client, ident, {"flowId": made["flow"], "params": {}})
    assert r.status_code == 400 and "params.mode" in r.text


def test_full_refresh_of_a_recurring_flow_reconciles_a_purged_record(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu: Any, worker: Worker
) -> None:
    made = build_flow(client, ident, oauth_params(emu), frequency="minute")
    r = client.post(f"{FS}/flows/{made['flow']}/action?op=run", headers=ident.headers())
    assert r.status_code == 200, r.text
    assert worker.run_until_idle() == 1
    first = newest_run(client, ident, made["flow"])
    assert first["state"] == "success", first["metrics"]
    ids = {row["Id"] for row in lake_rows(ctx, ident, made["dataset"], ["Id"])}
    assert ids == set(live_ids(emu, "contacts"))

    purged = int(sorted(ids, key=int)[10])
    emu.state.gdpr_delete("contacts", purged)
    # an incremental run cannot see a purge: the record never passes the archived list
    client.post(f"{FS}/flows/{made['flow']}/action?op=run", headers=ident.headers())
    assert worker.run_until_idle() == 1
    incremental = newest_run(client, ident, made["flow"])
    assert copy_extensions(incremental)["strategy"] != "full"
    ids = {row["Id"] for row in lake_rows(ctx, ident, made["dataset"], ["Id"])}
    assert str(purged) in ids

    r = post_run(
        client,
        ident,
        {"flowId": made["flow"], "params": {"mode": "full", "tables": ["Hubspot.Contacts"]}},
    )
    assert r.status_code == 201, r.text
    assert r.json()["params"]["mode"] == "full"
    assert worker.run_until_idle() == 1
    full = newest_run(client, ident, made["flow"])
    assert full["id"] == r.json()["id"]
    assert full["state"] == "success", full["metrics"]
    ext = copy_extensions(full)
    assert ext["mode"] == "full" and ext["strategy"] == "full" and ext["completeRead"] is True
    assert ext["reason"]
    assert promotion_extensions(full)["reconciledRecordCount"] == 1
    ids = {row["Id"] for row in lake_rows(ctx, ident, made["dataset"], ["Id"])}
    assert ids == set(live_ids(emu, "contacts"))
    assert str(purged) not in ids


def test_flow_read_options_refresh_associations_every_run(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu: Any, worker: Worker
) -> None:
    made = build_flow(
        client,
        ident,
        oauth_params(emu),
        frequency="minute",
        source_params={"associationsEverySeconds": 0, "deletesEverySeconds": 0},
    )
    client.post(f"{FS}/flows/{made['flow']}/action?op=run", headers=ident.headers())
    assert worker.run_until_idle() == 1
    contact = int(live_ids(emu, "contacts")[5])
    before = {
        r["Id"]: r["Associations_Companies_Ids"]
        for r in lake_rows(ctx, ident, made["dataset"], ["Id", "Associations_Companies_Ids"])
    }
    current = {str(c) for c in before[str(contact)] or []}
    company = next(
        int(c) for c in live_ids(emu, "companies") if c not in current
    )  # a company the contact is not associated with yet
    emu.state.associate("contacts", contact, "companies", company)

    client.post(f"{FS}/flows/{made['flow']}/action?op=run", headers=ident.headers())
    assert worker.run_until_idle() == 1
    run = newest_run(client, ident, made["flow"])
    assert run["state"] == "success", run["metrics"]
    ext = copy_extensions(run)
    assert ext["associationChanges"] >= 1
    assert ext["associationRequests"] >= 1
    assert ext["associationsCheckedAt"] is not None and ext["deletesCheckedAt"] is not None
    after = {
        r["Id"]: r["Associations_Companies_Ids"]
        for r in lake_rows(ctx, ident, made["dataset"], ["Id", "Associations_Companies_Ids"])
    }
    assert str(company) in {str(c) for c in after[str(contact)]}


def test_flow_read_options_are_validated(client: TestClient, ident: Identity, emu: Any) -> None:
    with pytest.raises(AssertionError) as refused:
        build_flow(client, ident, oauth_params(emu), source_params={"lookbackSeconds": -5})
    assert "params.lookbackSeconds" in str(refused.value)


def test_a_flows_lookback_overrides_the_servers(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu: Any, worker: Worker
) -> None:
    """The server's lookback is 0 here (the fixture); a flow with ``lookbackSeconds`` searches
    again what changed in that long before its previous run started, a flow without it does
    not; what the dataset already holds at the same modification time is not written again."""
    flows = {
        "own": build_flow(
            client, ident, oauth_params(emu), frequency="minute",
            source_params={"lookbackSeconds": 120},
        )["flow"],
        "server's": build_flow(client, ident, oauth_params(emu), frequency="minute")["flow"],
    }  # fmt: skip

    found: dict[str, int] = {}

    def run_all() -> dict[str, int]:
        for flow in flows.values():
            r = client.post(f"{FS}/flows/{flow}/action?op=run", headers=ident.headers())
            assert r.status_code == 200, r.text
        assert worker.run_until_idle() == len(flows)
        read = {}
        for name, flow in flows.items():
            run = newest_run(client, ident, flow)
            assert run["state"] == "success", run["metrics"]
            read[name] = run["metrics"]["recordSummary"]["inputRecordCount"]
            found[name] = copy_extensions(run)["unchangedRecords"]
        return read

    run_all()  # first syncs: full reads
    touched = emu.state.touch("contacts", 5)
    assert run_all() == {"own": len(touched), "server's": len(touched)}
    # Nothing changed since: only the flow's 2-minute overlap reaches back to the touch, and
    # finds the records as the dataset holds them
    assert run_all() == {"own": 0, "server's": 0}
    assert found == {"own": len(touched), "server's": 0}
    # one of them changes again: read by both
    emu.state.touch("contacts", ids=[touched[0]])
    assert run_all() == {"own": 1, "server's": 1}
