"""A plan's transformations run between read and stage: every staged batch (and the empty
checkpoint batches) has their output schema, and the Delta table receives what they return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.domain.runs import RunStatus
from headwater.engine.executor import RunControl, run_one
from headwater.engine.worker import Worker
from headwater.lake import TableRef
from headwater.services import run_outcomes, sources
from headwater.services.context import ServiceContext
from headwater.services.run_plans import RunPlan, plan_run
from headwater.store.runs import RunRow
from tests.conftest import Identity
from tests.connectors.conftest import live_ids
from tests.flows import build_flow, oauth_params

EMAIL = "Properties_Email_Value"


@dataclass(frozen=True)
class TagAndShout:
    """Adds a constant ``Source_System`` column and upper-cases the e-mail column."""

    name: str = "tag-and-shout"

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        return schema.append(pa.field("Source_System", pa.string()))

    def output_key(self, schema: pa.Schema, key: tuple[str, ...]) -> tuple[str, ...]:
        return key

    def apply(self, batch: pa.RecordBatch, constants: Mapping[str, str]) -> pa.RecordBatch:
        i = batch.schema.get_field_index(EMAIL)
        if i >= 0:
            batch = batch.set_column(i, EMAIL, pc.utf8_upper(batch.column(i)))
        tag = pa.array(["hubspot"] * batch.num_rows, pa.string())
        return batch.append_column("Source_System", tag)


def test_transformations_shape_what_lands(
    client: TestClient, ident: Identity, ctx: ServiceContext, emu
) -> None:
    hubspot = ctx.connector_settings.get(HubSpotSettings)
    hubspot.base_url = emu.base_url
    made = build_flow(client, ident, oauth_params(emu))
    worker = Worker(ctx, open_connector=sources.open_connector, name="w-transform")
    run = worker.claim()
    assert run is not None
    seen: list[RunPlan] = []

    def planner(c: ServiceContext, r: RunRow) -> RunPlan:
        plan = replace(plan_run(c, r), transformations=(TagAndShout(),))
        seen.append(plan)
        return plan

    outcome = run_one(
        ctx,
        run,
        worker_id=worker.id,
        open_connector=sources.open_connector,
        control=RunControl(),
        planner=planner,
    )
    run_outcomes.record_outcome(ctx, run, worker_id=worker.id, outcome=outcome)
    assert outcome.status is RunStatus.SUCCESS, outcome.doc["metrics"]
    assert [p.flow_id for p in seen] == [made["flow"]]

    assert ctx.lake is not None
    data = ctx.lake.dataset(TableRef(ident.org_id, "prod", made["dataset"]))
    assert data is not None
    table = data.to_table(columns=["Id", "Source_System", EMAIL])
    assert sorted(table.column("Id").to_pylist(), key=int) == live_ids(emu, "contacts")
    assert set(table.column("Source_System").to_pylist()) == {"hubspot"}
    emails = [e for e in table.column(EMAIL).to_pylist() if e]
    assert emails and all("@" in e and e == e.upper() for e in emails)  # HubSpot's are lower
