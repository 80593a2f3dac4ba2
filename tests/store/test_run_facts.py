"""read_run_facts on SQLite and PostgreSQL: the record counts come out of the stored documents
in SQL, scoped to the tenant, the flows and the time asked for."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from headwater.domain.runs import RunStatus
from headwater.services.context import ServiceContext, Tenant
from headwater.services.runs import recent_runs
from headwater.store import runs as store
from headwater.store.tables import runs as runs_table
from tests.store.test_run_leases import ORG, new_run


@pytest.fixture(autouse=True)
def _forget_runs(ctx: ServiceContext) -> Iterator[None]:
    yield
    with ctx.engine.begin() as conn:
        conn.execute(sa.delete(runs_table).where(runs_table.c.org_id == ORG))


def put(ctx: ServiceContext, flow: str, at: int, status: RunStatus, read: int | None) -> str:
    row = new_run(ctx, at=at, flow_id=flow)
    doc = {"metrics": {"recordSummary": {"inputRecordCount": read, "outputRecordCount": 2}}}
    if read is None:
        doc = {"metrics": {}}
    with ctx.engine.begin() as conn:
        conn.execute(
            sa.update(runs_table)
            .where(runs_table.c.id == row.id)
            .values(status=status.value, doc=store._dump(doc), updated_at=at + 5)
        )
    return row.id


def test_facts_and_summaries_of_recent_runs(ctx: ServiceContext) -> None:
    a, b, other = (str(uuid.uuid4()) for _ in range(3))
    put(ctx, a, 1_000, RunStatus.SUCCESS, 10)
    put(ctx, a, 2_000, RunStatus.FAILED, 7)
    running = put(ctx, a, 3_000, RunStatus.IN_PROGRESS, None)
    put(ctx, a, 4_000, RunStatus.SCHEDULED, None)
    put(ctx, a, 10, RunStatus.SUCCESS, 1_000)  # too old
    put(ctx, b, 1_500, RunStatus.SUCCESS, 3)
    put(ctx, other, 1_500, RunStatus.SUCCESS, 99)  # not asked for
    with ctx.engine.connect() as conn:
        facts = store.read_run_facts(
            conn, org_id=ORG, sandbox_name="prod", flow_ids=[a, b], created_since=500
        )
        elsewhere = store.read_run_facts(
            conn, org_id="OTHER@AdobeOrg", sandbox_name="prod", flow_ids=[a], created_since=0
        )
    assert elsewhere == []
    assert [(f.flow_id, f.records_in) for f in facts] == [
        (a, 0),
        (a, 0),
        (a, 7),
        (b, 3),
        (a, 10),
    ]
    tenant = Tenant(org_id=ORG, sandbox_name="prod", sandbox_id="", client_id="")
    summary = recent_runs(ctx, tenant, [a, b, other], since_ms=500)
    assert (summary[a].read, summary[a].written, summary[a].finished) == (17, 4, 2)
    assert summary[a].running == (running, 3_005)
    assert summary[a].queued == [4_000]
    assert (summary[b].read, summary[b].finished, summary[b].running) == (3, 1, None)
    assert summary[other].read == 99
