"""Every table of the emulator's portal through the whole dataflow: for each table explore lists,
a flow (API → worker → connector → Delta) lands exactly the rows the emulator holds for it.

The expected counts come from the emulator's own state (its records, association graph, property
histories, owners, pipelines, lists and marketing data), not from Headwater's reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.connectors.hubspot.tables import TableDef, TableKind
from headwater.emulator.hubspot import EmulatorConfig, serve_in_thread
from headwater.emulator.hubspot.portal_metadata import TEAMS
from headwater.emulator.hubspot.routes.settings import portal_users
from headwater.engine.worker import Worker
from headwater.lake import TableRef
from headwater.services import sources
from headwater.services.context import ServiceContext, Tenant
from tests.conftest import Identity
from tests.connectors.conftest import connect, live_ids
from tests.flows import FS, build_flow, oauth_params

pytestmark = pytest.mark.e2e


@pytest.fixture
def portal() -> Iterator[Any]:
    config = EmulatorConfig(
        seed=21,
        contacts=300,
        companies=60,
        deals=80,
        tickets=40,
        products=20,
        line_items=60,
        engagements=20,
        custom_records=30,
        extra_records=15,
        rate_limit="none",
        search_index_lag_ms=0,
    )
    with serve_in_thread(config) as running:
        yield running


def _live(emu: Any, object_type: str) -> list[str]:
    return live_ids(emu, emu.state.resolve(object_type).name)


def _history_versions(emu: Any, object_type: str) -> int:
    store = emu.state.stores[emu.state.resolve(object_type).name]
    names = [p.name for p in store.type.properties]
    return len(
        {
            (rid, name, str(v["timestamp"]), str(v["value"]), str(v["sourceType"]))
            for rid in _live(emu, object_type)
            for name in names
            for v in store.history_for(int(rid), name)
        }
    )


def _associations(emu: Any, source: str, target: str) -> int:
    src, dst = emu.state.resolve(source).name, emu.state.resolve(target).name
    return len(
        {
            (rid, link.to_id, t.type_id)
            for rid in live_ids(emu, src)
            for link in emu.state.graph.links(src, dst, int(rid))
            for t in link.types
        }
    )


def _merged(emu: Any, object_type: str) -> int:
    store = emu.state.stores[emu.state.resolve(object_type).name]
    return sum(
        len([x for x in (store.value(int(rid), "hs_merged_object_ids") or "").split(";") if x])
        for rid in _live(emu, object_type)
    )


def _marketing(emu: Any, table: str) -> int:
    name = table.removeprefix("Hubspot.").lower()
    if name == "lists":
        return len(emu.state.lists)
    if name == "list_memberships":  # live contacts only: HubSpot drops archived ones
        live = [int(i) for i in live_ids(emu, "contacts")]
        return sum(1 for lst in emu.state.lists for rid in live if lst.contains(rid))
    return int(emu.state.marketing.counts(emu.state.now_ms())[name])


def expected_rows(emu: Any, table: TableDef) -> int:
    """What the dataset of ``table`` must hold, from the emulator's state."""
    kind, obj = table.kind, table.object_type
    owners = emu.state.owners
    if kind is TableKind.CRM:
        return len(_live(emu, obj))
    if kind is TableKind.OWNERS:
        return sum(1 for o in owners if not o.archived)
    if kind is TableKind.PIPELINES:
        return sum(1 for p in emu.state.pipelines if p.object_type == obj)
    if kind is TableKind.PIPELINE_STAGES:
        return sum(len(p.stages) for p in emu.state.pipelines if p.object_type == obj)
    if kind is TableKind.USERS:
        return len(portal_users(owners))
    if kind is TableKind.TEAMS:
        return len(TEAMS)
    if kind is TableKind.OWNER_TEAMS:
        return sum(1 for o in owners if not o.archived and o.team is not None)
    if kind is TableKind.ASSOCIATIONS:
        return _associations(emu, obj, table.associations[0])
    if kind is TableKind.PROPERTY_HISTORY:
        return _history_versions(emu, obj)
    if kind is TableKind.MERGES:
        return _merged(emu, obj)
    if kind is TableKind.MARKETING:
        return _marketing(emu, table.name)
    raise AssertionError(f"no expectation for {table.name} ({kind})")


def test_one_flow_per_table_lands_every_table_with_the_emulators_counts(
    client: TestClient, ident: Identity, ctx: ServiceContext, portal: Any, tenant_of: Any
) -> None:
    ctx.connector_settings.get(HubSpotSettings).base_url = portal.base_url
    # a merge first, so the merge tables have a row to land
    with httpx.Client(
        base_url=portal.base_url,
        headers={"Authorization": f"Bearer {portal.private_app_token}"},
    ) as hs:
        a, b = _live(portal, "contacts")[3:5]
        r = hs.post(
            "/crm/v3/objects/contacts/merge",
            json={"primaryObjectId": a, "objectIdToMerge": b},
        )
        assert r.status_code == 200, r.text
    with connect(portal) as conn:
        tables = conn.tables()
    assert len(tables) >= 60, [t.name for t in tables]
    worker = Worker(ctx, open_connector=sources.open_connector, name="w-every-table")
    tenant: Tenant = tenant_of(ident)
    landed: dict[str, int] = {}
    wanted: dict[str, int] = {}
    failed: dict[str, Any] = {}
    for table in tables:
        made = build_flow(client, ident, oauth_params(portal), table=table.name)
        assert worker.run_until_idle() == 1
        run = client.get(
            f"{FS}/runs", params={"property": f"flowId=={made['flow']}"}, headers=ident.headers()
        ).json()["items"][0]
        if run["state"] != "success":
            failed[table.name] = run["metrics"]["statusSummary"]
            continue
        assert ctx.lake is not None
        data = ctx.lake.dataset(TableRef(tenant.org_id, tenant.sandbox_name, made["dataset"]))
        landed[table.name] = 0 if data is None else data.count_rows()
        wanted[table.name] = expected_rows(portal, table)
    assert failed == {}
    assert landed == wanted
    assert sum(landed.values()) > 10_000
    assert landed["Hubspot.Contact_Merges"] == 2
