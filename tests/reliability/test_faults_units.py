"""Regression tests for what the fault matrix (``test_faults.py``) found, each at the layer it
was fixed in: damaged stored state, a database that errors under a worker."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from headwater.connectors.hubspot.marketing_reader import MarketingState
from headwater.connectors.hubspot.state import StreamState
from headwater.errors import CheckpointError
from headwater.lake import Lake
from headwater.services.context import ServiceContext
from headwater.store import runs as store
from headwater.store.db import create_engine
from headwater.store.secrets import SecretBox, generate_key
from headwater.store.tables import flow_state
from headwater.store.tables import runs as runs_table
from tests.store.test_run_leases import ORG, new_run


@pytest.fixture
def t0() -> int:
    return 900_000_000_000 - int(uuid.uuid4().int % 1000) * 86_400_000


def test_a_run_with_a_damaged_checkpoint_is_still_claimed(ctx: ServiceContext, t0: int) -> None:
    """Garbage in one run's stored checkpoint once made every claim raise (the queue stopped)."""
    run = new_run(ctx, at=t0)
    try:
        with ctx.engine.begin() as conn:
            conn.execute(
                sa.update(runs_table)
                .where(runs_table.c.id == run.id)
                .values(checkpoint="\x01{not json")
            )
        claimed = store.claim_next_run(
            ctx.engine, worker_id="w", now=t0 + 1, lease_ms=1000, portal_limit=5
        )
        assert claimed is not None and claimed.id == run.id
        assert claimed.checkpoint is None
    finally:
        with ctx.engine.begin() as conn:
            conn.execute(sa.delete(runs_table).where(runs_table.c.org_id == ORG))


@pytest.mark.parametrize("garbage", ["{not json", "[1, 2]", '"text"', "null"])
def test_a_damaged_committed_cursor_reads_as_none(ctx: ServiceContext, garbage: str) -> None:
    flow_id = str(uuid.uuid4())
    with ctx.engine.begin() as conn:
        store.commit_flow_state(
            conn, flow_id=flow_id, stream="good", state={"v": 1}, run_id="r", now=1
        )
        conn.execute(
            sa.insert(flow_state).values(
                flow_id=flow_id, stream="bad", state=garbage, run_id="r", updated_at=1
            )
        )
    with ctx.engine.connect() as conn:
        assert store.read_flow_state(conn, flow_id=flow_id) == {"good": {"v": 1}}


@pytest.mark.parametrize(
    "data",
    [
        {"v": 1, "cursor_ms": "yesterday"},
        {"v": 1, "cursor_ms": [1]},
        {"v": 99, "cursor_ms": 5},
        [1, 2, 3],
    ],
)
def test_damaged_hubspot_checkpoints_are_checkpoint_errors(data: object) -> None:
    """They were a crash (``ValueError``, ``AttributeError``: ENGINE-1102-500) run after run."""
    with pytest.raises(CheckpointError):
        StreamState.from_json(data)  # type: ignore[arg-type]
    with pytest.raises(CheckpointError):
        MarketingState.from_json(data)  # type: ignore[arg-type]


def test_a_damaged_staged_log_is_discarded(tmp_path: Path) -> None:
    """The resumed run starts its staging over instead of failing on every attempt."""
    lake = Lake(str(tmp_path / "lake"))
    staged = lake.stage("run-1")
    staged.write(pa.RecordBatch.from_pylist([{"Id": "1"}]), state={"v": 1, "cursor_ms": 5})
    staged.flush()
    for f in (Path(staged.uri) / "_delta_log").glob("*.json"):
        f.write_bytes(b"\x00garbage{")
    again = lake.stage("run-1")
    assert again.resume_state is None and not again.exists
    again.write(pa.RecordBatch.from_pylist([{"Id": "2"}]), state={"v": 1, "cursor_ms": 6})
    again.flush()
    assert lake.stage("run-1").resume_state == {"v": 1, "cursor_ms": 6}


def test_a_worker_survives_database_errors(tmp_path: Path) -> None:
    """A claim that fails (the database restarting) once ended ``run_forever`` and with it the
    worker process; it keeps polling until the database answers again."""
    from headwater.engine.worker import Worker

    engine = create_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")  # not migrated: errors
    ctx = ServiceContext(engine=engine, box=SecretBox(generate_key()))

    def no_connector(*_: object) -> object:
        raise AssertionError("nothing should run")

    w = Worker(ctx, open_connector=no_connector, poll_s=0.05)  # type: ignore[arg-type]
    thread = threading.Thread(target=w.run_forever, daemon=True)
    thread.start()
    time.sleep(2.5)  # a few failed claims (they back off a second each)
    assert thread.is_alive(), "the worker loop ended on a database error"
    w.shutdown()
    thread.join(timeout=10)
    assert not thread.is_alive()
    engine.dispose()


def test_a_database_error_mid_run_is_retried(tmp_path: Path) -> None:
    """A database error inside a run was a crash (failed, ENGINE-1102-500); it is retried."""
    from headwater.domain.runs import RunStatus
    from headwater.engine.executor import RunControl, run_one
    from headwater.services.run_plans import RunPlan

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    ctx = ServiceContext(engine=engine, box=SecretBox(generate_key()))

    def planner(_ctx: ServiceContext, _run: object) -> RunPlan:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT * FROM no_such_table"))
        raise AssertionError("unreachable")

    row = store.RunRow(
        id="r1",
        flow_id="f",
        org_id=ORG,
        sandbox_name="prod",
        status=RunStatus.IN_PROGRESS,
        dedupe_key="d",
        portal_key="p",
        trigger="manual",
        scheduled_for=0,
        window_start=None,
        window_end=None,
        attempt=1,
        lease_owner="w",
        lease_expires_at=1,
        started_at=0,
        completed_at=None,
        created_at=0,
        updated_at=0,
        etag="e",
        doc={},
        checkpoint=None,
    )
    outcome = run_one(
        ctx,
        row,
        worker_id="w",
        open_connector=lambda *_: None,  # type: ignore[arg-type,return-value]
        control=RunControl(),
        planner=planner,
    )
    assert outcome.status is RunStatus.SCHEDULED
    assert outcome.retry_in_s > 0
    assert "database was unreachable" in json.dumps(outcome.doc)
    engine.dispose()
