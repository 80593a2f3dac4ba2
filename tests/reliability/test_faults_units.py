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
