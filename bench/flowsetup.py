"""The dataflow the benchmarks run, set up through the services as a user's API calls would: an
org with an API client, a HubSpot connection, a contacts source, a dataset, its Delta target and
a flow that runs once (its first run queued at creation).

Used by ``bench/flow.py`` (in-process worker) and ``bench/peers/headwater_run.py`` (in-process
worker or a ``headwater serve`` node)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from headwater.connectors.hubspot import SPEC_ID as HUBSPOT
from headwater.services import connections, dataflow_connections, datasets, flows, identity
from headwater.services import runs as run_service
from headwater.services.context import ServiceContext, Tenant
from headwater.services.listing import ListRequest
from headwater.store import identity as id_store

LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"


@dataclass(frozen=True)
class ContactsFlow:
    connection: str
    flow: str
    dataset: str


def create_tenant(ctx: ServiceContext, org: str, name: str = "bench") -> Tenant:
    """A new org with an API client, as the tenant of its ``prod`` sandbox."""
    identity.create_org(ctx, org_id=org)
    client, _secret = identity.create_client(ctx, org_id=org, name=name)
    return tenant_of(ctx, org, client.client_id)


def tenant_of(ctx: ServiceContext, org: str, client_id: str) -> Tenant:
    with ctx.engine.connect() as conn:
        sandbox = id_store.read_sandbox(conn, org_id=org, name="prod")
    assert sandbox is not None
    return Tenant(org_id=org, sandbox_name="prod", sandbox_id=sandbox.id, client_id=client_id)


def create_connection(ctx: ServiceContext, tenant: Tenant, token: str) -> str:
    base_id, _ = connections.create_connection(
        ctx,
        tenant,
        {
            "name": "hubspot",
            "auth": {"specName": "Private App Token", "params": {"accessToken": token}},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    return base_id


def create_contacts_flow(
    ctx: ServiceContext,
    tenant: Tenant,
    connection: str,
    *,
    name: str = "contacts",
    columns: list[str] | None = None,
) -> ContactsFlow:
    """Contacts (every column unless ``columns``) into a new dataset, merged; one run queued."""
    params: dict[str, Any] = {"tableName": "Hubspot.Contacts"}
    if columns is not None:
        params["columns"] = columns
    src, _ = dataflow_connections.create_source(
        ctx,
        tenant,
        {
            "name": name,
            "baseConnectionId": connection,
            "params": params,
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    ds = datasets.create_dataset(ctx, tenant, {"name": name})
    tgt, _ = dataflow_connections.create_target(
        ctx,
        tenant,
        {"params": {"dataSetId": ds}, "connectionSpec": {"id": LAKE_SPEC, "version": "1.0"}},
    )
    flow_id, _ = flows.create_flow(
        ctx,
        tenant,
        {
            "name": name,
            "flowSpec": {"id": CRM_TO_AEP, "version": "1.0"},
            "sourceConnectionIds": [src],
            "targetConnectionIds": [tgt],
            "scheduleParams": {"startTime": int(time.time()) - 1, "frequency": "once"},
        },
    )
    return ContactsFlow(connection, flow_id, ds)


def last_run(ctx: ServiceContext, tenant: Tenant) -> dict[str, Any]:
    """The tenant's latest run, as the API renders it."""
    return run_service.list_runs(ctx, tenant, ListRequest()).items[-1]  # type: ignore[no-any-return]


def run_status(run: dict[str, Any]) -> str:
    return str(run["metrics"]["statusSummary"]["status"])
