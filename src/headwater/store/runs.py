"""The run queue: creation (idempotent per flow and window), leased claims, the state changes of
a leased run (``set_run_state``: heartbeat, progress, checkpoint, release, finish), and the
committed cursor state of each flow.

Every write of a run's ``status`` goes through ``_write_state``, guarded: a claim by "due and not
busy", everything a worker does afterwards by "I still hold the lease" (as Prefect's
``set_flow_run_state`` is the one door for flow-run states), cancellation by "not started".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from headwater.domain.ids import new_etag
from headwater.domain.runs import RunStatus, can_transition
from headwater.store.tables import flow_state, runs

log = logging.getLogger(__name__)

SCHEDULED = RunStatus.SCHEDULED.value
IN_PROGRESS = RunStatus.IN_PROGRESS.value


@dataclass(slots=True)
class RunRow:
    id: str
    flow_id: str
    org_id: str
    sandbox_name: str
    status: RunStatus
    dedupe_key: str
    portal_key: str
    trigger: str
    scheduled_for: int
    window_start: int | None
    window_end: int | None
    attempt: int
    lease_owner: str | None
    lease_expires_at: int | None
    started_at: int | None
    completed_at: int | None
    created_at: int
    updated_at: int
    etag: str
    doc: dict[str, Any]
    checkpoint: dict[str, Any] | None


def _row(r: Any) -> RunRow:
    return RunRow(
        id=r.id,
        flow_id=r.flow_id,
        org_id=r.org_id,
        sandbox_name=r.sandbox_name,
        status=RunStatus(r.status),
        dedupe_key=r.dedupe_key,
        portal_key=r.portal_key,
        trigger=r.trigger,
        scheduled_for=r.scheduled_for,
        window_start=r.window_start,
        window_end=r.window_end,
        attempt=r.attempt,
        lease_owner=r.lease_owner,
        lease_expires_at=r.lease_expires_at,
        started_at=r.started_at,
        completed_at=r.completed_at,
        created_at=r.created_at,
        updated_at=r.updated_at,
        etag=r.etag,
        doc=json.loads(r.doc),
        checkpoint=_object(r.checkpoint, f"checkpoint of run {r.id}"),
    )


def _object(text: str | None, what: str) -> dict[str, Any] | None:
    """A stored JSON object, or ``None`` (logged) when it is not one: a damaged checkpoint or
    cursor must not stop the queue. The run re-reads from an earlier position instead."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        log.warning("ignoring the unreadable %s", what)
        return None
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def create_run(conn: Connection, *, run: RunRow) -> bool:
    """Insert a run; False when a run with the same dedupe key (flow + window) already exists."""
    try:
        with conn.begin_nested():
            conn.execute(
                sa.insert(runs).values(
                    id=run.id,
                    flow_id=run.flow_id,
                    org_id=run.org_id,
                    sandbox_name=run.sandbox_name,
                    status=run.status.value,
                    dedupe_key=run.dedupe_key,
                    portal_key=run.portal_key,
                    trigger=run.trigger,
                    scheduled_for=run.scheduled_for,
                    window_start=run.window_start,
                    window_end=run.window_end,
                    attempt=run.attempt,
                    lease_owner=None,
                    lease_expires_at=None,
                    started_at=None,
                    completed_at=None,
                    created_at=run.created_at,
                    updated_at=run.updated_at,
                    etag=run.etag,
                    doc=_dump(run.doc),
                    checkpoint=None,
                )
            )
    except IntegrityError:
        return False
    return True


def read_run(conn: Connection, *, run_id: str) -> RunRow | None:
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
    return _row(row) if row else None


def read_runs(
    conn: Connection,
    *,
    org_id: str,
    sandbox_name: str,
    flow_id: str | None = None,
    created_since: int | None = None,
) -> list[RunRow]:
    q = sa.select(runs).where(runs.c.org_id == org_id, runs.c.sandbox_name == sandbox_name)
    if flow_id is not None:
        q = q.where(runs.c.flow_id == flow_id)
    if created_since is not None:
        q = q.where(runs.c.created_at >= created_since)
    return [_row(r) for r in conn.execute(q.order_by(runs.c.created_at, runs.c.id))]


def live_runs_of_flow(conn: Connection, *, flow_id: str) -> list[RunRow]:
    q = sa.select(runs).where(
        runs.c.flow_id == flow_id, runs.c.status.in_([SCHEDULED, IN_PROGRESS])
    )
    return [_row(r) for r in conn.execute(q)]


def claim_next_run(
    engine: Engine, *, worker_id: str, now: int, lease_ms: int, portal_limit: int
) -> RunRow | None:
    """Lease the next due run (or one whose lease expired), at most one running run per flow and
    ``portal_limit`` per portal. PostgreSQL skips rows other workers hold (SKIP LOCKED)."""
    pg = engine.dialect.name == "postgresql"
    due = sa.or_(
        sa.and_(runs.c.status == SCHEDULED, runs.c.scheduled_for <= now),
        sa.and_(runs.c.status == IN_PROGRESS, runs.c.lease_expires_at < now),
    )
    with engine.begin() as conn:
        q = sa.select(
            runs.c.id, runs.c.flow_id, runs.c.portal_key, runs.c.status, runs.c.lease_owner
        )
        q = q.where(due).order_by(runs.c.scheduled_for, runs.c.created_at).limit(25)
        if pg:
            q = q.with_for_update(skip_locked=True)
        candidates = conn.execute(q).all()
        for cand in candidates:
            if pg:
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": f"portal:{cand.portal_key}"},
                )
            other = runs.alias("other")
            busy_flow = (
                sa.select(sa.literal(1))
                .select_from(other)
                .where(
                    other.c.flow_id == cand.flow_id,
                    other.c.status == IN_PROGRESS,
                    other.c.lease_expires_at >= now,
                    other.c.id != cand.id,
                )
                .exists()
            )
            portal_busy = (
                sa.select(sa.func.count())
                .select_from(other)
                .where(
                    other.c.portal_key == cand.portal_key,
                    other.c.status == IN_PROGRESS,
                    other.c.lease_expires_at >= now,
                    other.c.id != cand.id,
                )
                .scalar_subquery()
            )
            # the worker read its clock before the claim waited for the lock: a run never
            # starts, in the records, before the flow's previous run completed
            last_done = sa.func.coalesce(
                sa.select(sa.func.max(other.c.completed_at))
                .where(other.c.flow_id == cand.flow_id, other.c.id != cand.id)
                .scalar_subquery(),
                0,
            )
            start = sa.case((last_done > now, last_done), else_=sa.literal(now, sa.BigInteger))
            claimable = sa.and_(
                runs.c.id == cand.id,
                runs.c.status == cand.status,
                due,
                ~busy_flow,
                portal_busy < portal_limit,
            )
            claimed = _write_state(
                conn,
                guard=claimable,
                status=RunStatus.IN_PROGRESS,
                now=now,
                doc=None,
                values={
                    "lease_owner": worker_id,
                    "lease_expires_at": now + lease_ms,
                    "attempt": runs.c.attempt + 1,
                    "started_at": sa.func.coalesce(runs.c.started_at, start),
                },
            )
            if claimed:
                row = conn.execute(sa.select(runs).where(runs.c.id == cand.id)).first()
                return _row(row) if row else None
    return None


def held_runs(engine: Engine, *, owner_prefix: str) -> list[tuple[str, str]]:
    """``(run id, lease owner)`` of the runs in progress whose lease owner starts with
    ``owner_prefix`` (a host's workers), expired or not."""
    q = sa.select(runs.c.id, runs.c.lease_owner).where(
        runs.c.status == IN_PROGRESS, runs.c.lease_owner.startswith(owner_prefix, autoescape=True)
    )
    with engine.connect() as conn:
        return [(r.id, r.lease_owner) for r in conn.execute(q)]


def set_run_state(
    engine: Engine,
    *,
    run_id: str,
    worker_id: str,
    now: int,
    status: RunStatus,
    doc: dict[str, Any] | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    lease_ms: int | None = None,
    retry_at: int | None = None,
) -> bool:
    """The one way a worker changes the run it holds; False means the lease was lost (another
    worker owns the run now, or it is no longer in progress) and nothing was written.

    - ``IN_PROGRESS``: a heartbeat (``lease_ms`` extends the lease) and/or progress (``doc``, and
      the staged ``checkpoint`` to resume from);
    - ``SCHEDULED``: release, the run is due again at ``retry_at`` and keeps its checkpoint;
    - a terminal status: finish, with the final ``doc``.
    """
    if not can_transition(RunStatus.IN_PROGRESS, status):
        msg = f"a worker cannot move its run from inProgress to {status.value}"
        raise ValueError(msg)
    held = sa.and_(
        runs.c.id == run_id,
        runs.c.lease_owner == worker_id,
        runs.c.status == RunStatus.IN_PROGRESS.value,
    )
    values: dict[str, Any] = {}
    if status is RunStatus.IN_PROGRESS and lease_ms is not None:
        values["lease_expires_at"] = now + lease_ms
    if status is RunStatus.SCHEDULED:
        if retry_at is None:
            msg = "releasing a run needs retry_at"
            raise ValueError(msg)
        values |= {"lease_owner": None, "lease_expires_at": None, "scheduled_for": retry_at}
    elif status.terminal:
        values |= {"completed_at": now, "lease_expires_at": None}
    if checkpoint is not None:
        values["checkpoint"] = _dump(dict(checkpoint))
    with engine.begin() as conn:
        written = _write_state(conn, guard=held, status=status, now=now, doc=doc, values=values)
    return bool(written)


def _write_state(
    conn: Connection,
    *,
    guard: sa.ColumnElement[bool],
    status: RunStatus,
    now: int,
    doc: dict[str, Any] | None,
    values: dict[str, Any],
) -> int:
    """The UPDATE behind every state change (claim, heartbeat, progress, release, finish,
    cancel): ``guard`` decides whether the caller may make it. A write that only extends the
    lease keeps the run's etag (its document did not change)."""
    row: dict[str, Any] = {**values, "status": status.value}
    if doc is not None or set(values) - {"lease_expires_at"}:
        row |= {"updated_at": now, "etag": new_etag()}
    if doc is not None:
        row["doc"] = _dump(doc)
    return int(conn.execute(sa.update(runs).where(guard).values(**row)).rowcount)


def cancel_runs_of_flow(conn: Connection, *, flow_id: str, now: int) -> int:
    """Cancel the flow's runs that have not started (a disabled or deleted flow)."""
    waiting = sa.and_(runs.c.flow_id == flow_id, runs.c.status == SCHEDULED)
    return _write_state(
        conn,
        guard=waiting,
        status=RunStatus.CANCELLED,
        now=now,
        doc=None,
        values={"completed_at": now},
    )


def read_flow_state(conn: Connection, *, flow_id: str) -> dict[str, dict[str, Any]]:
    """The committed cursor of each stream of the flow; a stream whose stored state is not a JSON
    object (damaged) is left out, so its next run reads the stream as if for the first time."""
    rows = conn.execute(sa.select(flow_state).where(flow_state.c.flow_id == flow_id))
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        state = _object(r.state, f"cursor of flow {flow_id} ({r.stream})")
        if state is not None:
            out[r.stream] = state
    return out


def commit_flow_state(
    conn: Connection, *, flow_id: str, stream: str, state: dict[str, Any], run_id: str, now: int
) -> None:
    res = conn.execute(
        sa.update(flow_state)
        .where(flow_state.c.flow_id == flow_id, flow_state.c.stream == stream)
        .values(state=_dump(state), run_id=run_id, updated_at=now)
    )
    if not res.rowcount:
        conn.execute(
            sa.insert(flow_state).values(
                flow_id=flow_id, stream=stream, state=_dump(state), run_id=run_id, updated_at=now
            )
        )


def delete_flow_state(conn: Connection, *, flow_id: str) -> None:
    conn.execute(sa.delete(flow_state).where(flow_state.c.flow_id == flow_id))


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What an overview needs of one run, read without decoding its document."""

    id: str
    flow_id: str
    status: RunStatus
    scheduled_for: int
    updated_at: int
    records_in: int
    records_out: int


def _record_count(conn: Connection, name: str) -> sa.ColumnElement[Any]:
    """The run document's ``metrics.recordSummary.<name>``, extracted by the database."""
    path = ("metrics", "recordSummary", name)
    if conn.dialect.name == "postgresql":
        doc: Any = sa.cast(runs.c.doc, JSONB)
    else:
        doc = sa.type_coerce(runs.c.doc, sa.JSON)
    return sa.func.coalesce(doc[path].as_integer(), 0)


def read_run_facts(
    conn: Connection,
    *,
    org_id: str,
    sandbox_name: str,
    flow_ids: Sequence[str],
    created_since: int,
) -> list[RunFacts]:
    """The runs of ``flow_ids`` created since ``created_since``, newest first, as
    :class:`RunFacts` (one query; the documents stay in the database)."""
    if not flow_ids:
        return []
    q = (
        sa.select(
            runs.c.id,
            runs.c.flow_id,
            runs.c.status,
            runs.c.scheduled_for,
            runs.c.updated_at,
            _record_count(conn, "inputRecordCount").label("records_in"),
            _record_count(conn, "outputRecordCount").label("records_out"),
        )
        .where(
            runs.c.org_id == org_id,
            runs.c.sandbox_name == sandbox_name,
            runs.c.flow_id.in_(list(flow_ids)),
            runs.c.created_at >= created_since,
        )
        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
    )
    return [
        RunFacts(
            id=r.id,
            flow_id=r.flow_id,
            status=RunStatus(r.status),
            scheduled_for=int(r.scheduled_for),
            updated_at=int(r.updated_at),
            records_in=int(r.records_in or 0),
            records_out=int(r.records_out or 0),
        )
        for r in conn.execute(q)
    ]
