"""plan_run against a real database: what a run will read, how it writes, where it starts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pyarrow as pa
import pytest

from headwater.connectors.hubspot import SPEC_ID as HUBSPOT
from headwater.domain.runs import RunStatus
from headwater.domain.specs import CRM_TO_AEP_FLOW_SPEC_ID, DATA_LAKE_SPEC_ID
from headwater.errors import NotFoundError
from headwater.lake import DeleteMode, TableRef, WriteMode
from headwater.services import connections, dataflow_connections, datasets, flows
from headwater.services.context import ServiceContext, Tenant
from headwater.services.run_plans import Cursor, RunPlan, WritePolicy, plan_run
from headwater.store import runs as run_store
from headwater.store.runs import RunRow
from tests.conftest import Identity


@pytest.fixture
def made(ctx: ServiceContext, tenant: Tenant) -> Iterator[list[str]]:
    """Flows a test creates, deleted afterwards so no scheduler or worker of a later test sees
    them (deleting a flow cancels its runs and forgets its cursor)."""
    flow_ids: list[str] = []
    yield flow_ids
    for flow_id in flow_ids:
        flows.delete_flow(ctx, tenant, flow_id)


def make_flow(
    made: list[str],
    ctx: ServiceContext,
    tenant: Tenant,
    *,
    source_params: dict[str, object],
    dataset: dict[str, object] | None = None,
    schedule: dict[str, object] | None = None,
) -> tuple[str, str, str, str]:
    """A flow from a private-app HubSpot connection into a new dataset, through the services."""
    base, _ = connections.create_connection(
        ctx,
        tenant,
        {
            "name": "hubspot",
            "auth": {"specName": "Private App Token", "params": {"accessToken": "pat-x"}},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    src, _ = dataflow_connections.create_source(
        ctx,
        tenant,
        {
            "baseConnectionId": base,
            "params": source_params,
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    ds = datasets.create_dataset(ctx, tenant, {"name": f"ds-{uuid.uuid4()}", **(dataset or {})})
    tgt, _ = dataflow_connections.create_target(
        ctx,
        tenant,
        {"params": {"dataSetId": ds}, "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1"}},
    )
    flow, _ = flows.create_flow(
        ctx,
        tenant,
        {
            "name": "plan",
            "flowSpec": {"id": CRM_TO_AEP_FLOW_SPEC_ID, "version": "1.0"},
            "sourceConnectionIds": [src],
            "targetConnectionIds": [tgt],
            "scheduleParams": schedule
            or {"startTime": int(time.time()) + 3600, "frequency": "once"},
        },
    )
    made.append(flow)
    return flow, src, tgt, ds


def a_run(ctx: ServiceContext, tenant: Tenant, flow_id: str) -> RunRow:
    """A run row of ``flow_id`` as a worker holds it after the claim."""
    return RunRow(
        id=str(uuid.uuid4()),
        flow_id=flow_id,
        org_id=tenant.org_id,
        sandbox_name=tenant.sandbox_name,
        status=RunStatus.IN_PROGRESS,
        dedupe_key="x",
        portal_key="p",
        trigger="manual",
        scheduled_for=0,
        window_start=100,
        window_end=200,
        attempt=3,
        lease_owner="w",
        lease_expires_at=1,
        started_at=1,
        completed_at=None,
        created_at=0,
        updated_at=0,
        etag="e",
        doc={},
        checkpoint=None,
    )


@pytest.fixture
def tenant(ctx: ServiceContext, ident: Identity, tenant_of) -> Tenant:
    return tenant_of(ident)


def test_plan_of_a_once_flow(ctx: ServiceContext, tenant: Tenant, made: list[str]) -> None:
    flow, src, tgt, ds = make_flow(made, ctx, tenant, source_params={"path": "Hubspot.Contacts"})
    plan = plan_run(ctx, a_run(ctx, tenant, flow))
    assert isinstance(plan, RunPlan)
    assert (plan.flow_id, plan.attempt, plan.window_start, plan.window_end) == (flow, 3, 100, 200)
    assert plan.tenant == tenant
    assert plan.source.table == plan.stream == "Hubspot.Contacts"
    assert plan.source.source_connection_ids == (src,)
    assert plan.source.columns is None and plan.source.mode == "auto"
    assert plan.target_connection_ids == (tgt,)
    assert plan.dataset_id == ds and plan.table == TableRef(tenant.org_id, "prod", ds)
    assert plan.write == WritePolicy(mode=WriteMode.MERGE, on_delete=DeleteMode.DELETE)
    assert plan.cursor == Cursor() and plan.cursor.start is None
    assert plan.transformations == ()
    with pytest.raises(AttributeError):
        plan.dataset_id = "other"  # type: ignore[misc]


def test_plan_carries_columns_write_mode_and_the_schedule_cursor(
    ctx: ServiceContext, tenant: Tenant, made: list[str]
) -> None:
    start = int(time.time()) - 86_400
    flow, *_ = make_flow(
        made,
        ctx,
        tenant,
        source_params={"tableName": "Hubspot.Deals", "columns": ["dealname", {"name": "amount"}]},
        dataset={"headwater": {"writeMode": "history", "deletedRecords": "flag"}},
        schedule={"startTime": start, "frequency": "hour", "interval": 1, "backfill": False},
    )
    run = a_run(ctx, tenant, flow)
    plan = plan_run(ctx, run)
    assert plan.source.table == "Hubspot.Deals"
    assert plan.source.columns == ("dealname", "amount")
    assert plan.write == WritePolicy(mode=WriteMode.HISTORY, on_delete=DeleteMode.FLAG)
    assert plan.cursor.committed is None
    assert plan.cursor.start == {"v": 1, "cursor_ms": start * 1000}

    with ctx.engine.begin() as conn:
        run_store.commit_flow_state(
            conn, flow_id=flow, stream="Hubspot.Deals", state={"v": 1, "x": 2}, run_id="r", now=1
        )
    resumed = plan_run(ctx, run)
    assert resumed.cursor.committed == {"v": 1, "x": 2}
    assert resumed.cursor.start == {"v": 1, "x": 2}  # the committed cursor wins


def test_write_policy_uses_the_source_update_time_only_in_history_mode() -> None:
    with_updated = pa.schema([("Id", pa.string()), ("Updated_At", pa.timestamp("ms"))])
    without = pa.schema([("Id", pa.string())])
    history = WritePolicy(mode=WriteMode.HISTORY, on_delete=DeleteMode.DELETE)
    merge = replace(history, mode=WriteMode.MERGE)
    opts = history.options(primary_key=("Id",), schema=with_updated)
    assert (opts.valid_from_column, opts.deleted_column, opts.primary_key) == (
        "Updated_At",
        "Is_Deleted",
        ("Id",),
    )
    assert history.options(primary_key=("Id",), schema=without).valid_from_column is None
    assert merge.options(primary_key=("Id",), schema=with_updated).valid_from_column is None


def test_a_run_whose_flow_is_gone_cannot_be_planned(ctx: ServiceContext, tenant: Tenant) -> None:
    with pytest.raises(NotFoundError, match="no longer exists"):
        plan_run(ctx, a_run(ctx, tenant, str(uuid.uuid4())))
