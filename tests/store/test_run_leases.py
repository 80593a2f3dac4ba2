"""The run queue's leases on SQLite and PostgreSQL: claim, heartbeat, expiry, release, finish, and
the guards of set_run_state (a worker that lost its lease writes nothing)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from headwater.domain.runs import RunStatus
from headwater.services.context import ServiceContext
from headwater.store import runs as store
from headwater.store.runs import RunRow
from headwater.store.tables import runs as runs_table

LEASE = 10_000
ORG = "LEASETESTS@AdobeOrg"
_EPOCHS = itertools.count()


@pytest.fixture(autouse=True)
def _forget_runs(ctx: ServiceContext) -> Iterator[None]:
    """Delete this test's runs afterwards: with their 2001 leases long expired, any worker of a
    later test would claim them."""
    yield
    with ctx.engine.begin() as conn:
        conn.execute(sa.delete(runs_table).where(runs_table.c.org_id == ORG))


@pytest.fixture
def t0() -> int:
    """Each test's clock starts a day before the previous test's (and long before today): runs
    that earlier tests left in the shared database are neither due nor expired at its times."""
    return 1_000_000_000_000 - next(_EPOCHS) * 86_400_000


def new_run(
    ctx: ServiceContext, *, at: int, flow_id: str | None = None, portal: str | None = None
) -> RunRow:
    run_id = str(uuid.uuid4())
    row = RunRow(
        id=run_id,
        flow_id=flow_id or str(uuid.uuid4()),
        org_id=ORG,
        sandbox_name="prod",
        status=RunStatus.SCHEDULED,
        dedupe_key=f"test:{run_id}",
        portal_key=portal or str(uuid.uuid4()),
        trigger="manual",
        scheduled_for=at,
        window_start=None,
        window_end=None,
        attempt=0,
        lease_owner=None,
        lease_expires_at=None,
        started_at=None,
        completed_at=None,
        created_at=at,
        updated_at=at,
        etag="e0",
        doc={"metrics": {}},
        checkpoint=None,
    )
    with ctx.engine.begin() as conn:
        assert store.create_run(conn, run=row)
    return row


def read(ctx: ServiceContext, run_id: str) -> RunRow:
    with ctx.engine.connect() as conn:
        row = store.read_run(conn, run_id=run_id)
    assert row is not None
    return row


def claim(ctx: ServiceContext, worker: str, now: int, portal_limit: int = 2) -> RunRow | None:
    return store.claim_next_run(
        ctx.engine, worker_id=worker, now=now, lease_ms=LEASE, portal_limit=portal_limit
    )


def test_claim_leases_a_due_run_once(ctx: ServiceContext, t0: int) -> None:
    later = new_run(ctx, at=t0 + 60_000)
    run = new_run(ctx, at=t0)
    claimed = claim(ctx, "w1", t0)
    assert claimed is not None and claimed.id == run.id
    assert claimed.status is RunStatus.IN_PROGRESS
    assert (claimed.lease_owner, claimed.lease_expires_at) == ("w1", t0 + LEASE)
    assert claimed.attempt == 1 and claimed.started_at == t0
    assert claimed.etag != run.etag
    assert claim(ctx, "w2", t0 + 1) is None  # held; the other run is not due yet
    assert read(ctx, later.id).status is RunStatus.SCHEDULED


def test_heartbeat_extends_only_the_holders_lease(ctx: ServiceContext, t0: int) -> None:
    run = new_run(ctx, at=t0)
    claimed = claim(ctx, "w1", t0)
    assert claimed is not None
    assert store.set_run_state(
        ctx.engine,
        run_id=run.id,
        worker_id="w1",
        now=t0 + 5_000,
        status=RunStatus.IN_PROGRESS,
        lease_ms=LEASE,
    )
    beaten = read(ctx, run.id)
    assert beaten.lease_expires_at == t0 + 5_000 + LEASE
    assert beaten.etag == claimed.etag  # the document did not change
    assert not store.set_run_state(
        ctx.engine,
        run_id=run.id,
        worker_id="w2",
        now=t0 + 6_000,
        status=RunStatus.IN_PROGRESS,
        lease_ms=LEASE,
    )
    assert read(ctx, run.id).lease_expires_at == t0 + 5_000 + LEASE


def test_an_expired_lease_is_claimed_again_and_the_old_holder_is_fenced(
    ctx: ServiceContext, t0: int
) -> None:
    run = new_run(ctx, at=t0)
    assert claim(ctx, "w1", t0) is not None
    assert claim(ctx, "w2", t0 + LEASE - 1) is None  # not expired yet
    taken = claim(ctx, "w2", t0 + LEASE + 1)
    assert taken is not None and taken.id == run.id
    assert (taken.lease_owner, taken.attempt) == ("w2", 2)
    assert taken.started_at == t0  # the run started with its first attempt
    for status in (RunStatus.IN_PROGRESS, RunStatus.SUCCESS, RunStatus.SCHEDULED):
        assert not store.set_run_state(
            ctx.engine,
            run_id=run.id,
            worker_id="w1",
            now=t0 + LEASE + 2,
            status=status,
            doc={"stale": True},
            retry_at=t0,
        )
    after = read(ctx, run.id)
    assert after.lease_owner == "w2" and after.status is RunStatus.IN_PROGRESS
    assert after.doc == {"metrics": {}}


def test_progress_keeps_the_checkpoint_and_release_requeues_with_it(
    ctx: ServiceContext, t0: int
) -> None:
    run = new_run(ctx, at=t0)
    assert claim(ctx, "w1", t0) is not None
    assert store.set_run_state(
        ctx.engine,
        run_id=run.id,
        worker_id="w1",
        now=t0 + 100,
        status=RunStatus.IN_PROGRESS,
        doc={"metrics": {"n": 1}},
        checkpoint={"after": "200"},
    )
    progressed = read(ctx, run.id)
    assert progressed.doc == {"metrics": {"n": 1}} and progressed.checkpoint == {"after": "200"}
    assert progressed.updated_at == t0 + 100
    assert store.set_run_state(
        ctx.engine,
        run_id=run.id,
        worker_id="w1",
        now=t0 + 200,
        status=RunStatus.SCHEDULED,
        retry_at=t0 + 5_000,
        doc={"metrics": {"n": 2}},
    )
    released = read(ctx, run.id)
    assert released.status is RunStatus.SCHEDULED
    assert (released.lease_owner, released.lease_expires_at) == (None, None)
    assert released.scheduled_for == t0 + 5_000
    assert released.checkpoint == {"after": "200"}
    assert claim(ctx, "w2", t0 + 4_999) is None  # due again only at retry_at
    again = claim(ctx, "w2", t0 + 5_000)
    assert again is not None and again.attempt == 2 and again.checkpoint == {"after": "200"}


def test_finish_ends_the_lease_and_the_run_cannot_move_again(ctx: ServiceContext, t0: int) -> None:
    run = new_run(ctx, at=t0)
    assert claim(ctx, "w1", t0) is not None
    assert store.set_run_state(
        ctx.engine,
        run_id=run.id,
        worker_id="w1",
        now=t0 + 300,
        status=RunStatus.PARTIAL_SUCCESS,
        doc={"done": True},
    )
    done = read(ctx, run.id)
    assert done.status is RunStatus.PARTIAL_SUCCESS
    assert (done.completed_at, done.lease_expires_at) == (t0 + 300, None)
    assert not store.set_run_state(
        ctx.engine, run_id=run.id, worker_id="w1", now=t0 + 400, status=RunStatus.FAILED
    )
    assert claim(ctx, "w2", t0 + 10 * LEASE) is None
    assert read(ctx, run.id).status is RunStatus.PARTIAL_SUCCESS


def test_set_run_state_refuses_transitions_a_worker_cannot_make(
    ctx: ServiceContext, t0: int
) -> None:
    run = new_run(ctx, at=t0)
    assert claim(ctx, "w1", t0) is not None
    with pytest.raises(ValueError, match="cancelled"):
        store.set_run_state(
            ctx.engine, run_id=run.id, worker_id="w1", now=t0, status=RunStatus.CANCELLED
        )
    with pytest.raises(ValueError, match="retry_at"):
        store.set_run_state(
            ctx.engine, run_id=run.id, worker_id="w1", now=t0, status=RunStatus.SCHEDULED
        )
    assert read(ctx, run.id).status is RunStatus.IN_PROGRESS


def test_one_running_run_per_flow_and_the_portal_limit(ctx: ServiceContext, t0: int) -> None:
    flow = str(uuid.uuid4())
    first = new_run(ctx, flow_id=flow, portal="portal-a", at=t0)
    second = new_run(ctx, flow_id=flow, portal="portal-a", at=t0 + 1)
    other = new_run(ctx, portal="portal-a", at=t0 + 2)
    a = claim(ctx, "w1", t0 + 10, portal_limit=1)
    assert a is not None and a.id == first.id
    assert claim(ctx, "w2", t0 + 10, portal_limit=1) is None  # same flow; the portal is full
    b = claim(ctx, "w2", t0 + 10, portal_limit=2)
    assert b is not None and b.id == other.id  # the flow's second run still waits
    assert read(ctx, second.id).status is RunStatus.SCHEDULED


def test_cancelling_a_flow_cancels_only_runs_not_started(ctx: ServiceContext, t0: int) -> None:
    flow = str(uuid.uuid4())
    running = new_run(ctx, flow_id=flow, at=t0)
    waiting = new_run(ctx, flow_id=flow, at=t0 + 60_000)
    assert claim(ctx, "w1", t0) is not None
    with ctx.engine.begin() as conn:
        assert store.cancel_runs_of_flow(conn, flow_id=flow, now=t0 + 1) == 1
    assert read(ctx, waiting.id).status is RunStatus.CANCELLED
    assert read(ctx, waiting.id).completed_at == t0 + 1
    assert read(ctx, running.id).status is RunStatus.IN_PROGRESS
