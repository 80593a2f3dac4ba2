"""The webhook outbox: one ``webhook_deliveries`` row per (event, subscription), claimed with a
lease so that several processes never send the same attempt twice, and one ``webhook_attempts``
row per POST."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from headwater.store.tables import webhook_attempts, webhook_deliveries

PENDING = "pending"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
#: The statuses a delivery is waiting to be attempted in.
DUE = (PENDING, RETRYING)

_d = webhook_deliveries.c
_a = webhook_attempts.c


@dataclass(slots=True)
class Claimed:
    """A delivery leased to one deliverer for one attempt."""

    id: str
    webhook_id: str
    org_id: str
    sandbox_name: str
    event_type: str
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended (``attempted=False``: cancelled without a POST)."""

    status: str
    started: int
    duration_ms: int
    code: int | None
    error: str | None
    next_at: int
    attempted: bool = True


def insert_deliveries(
    conn: Connection,
    *,
    webhook_ids: Sequence[str],
    org_id: str,
    sandbox_name: str,
    event_id: str,
    event_type: str,
    payload: str,
    now: int,
) -> list[str]:
    """Queue one pending delivery of ``payload`` per webhook, due now; returns their ids."""
    rows: list[dict[str, Any]] = [
        {
            "id": str(uuid.uuid4()),
            "webhook_id": webhook_id,
            "org_id": org_id,
            "sandbox_name": sandbox_name,
            "event_id": event_id,
            "event_type": event_type,
            "payload": payload,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for webhook_id in webhook_ids
    ]
    if rows:
        conn.execute(sa.insert(webhook_deliveries), rows)
    return [str(r["id"]) for r in rows]


def _free(now: int) -> sa.ColumnElement[bool]:
    return sa.or_(_d.lease_expires_at.is_(None), _d.lease_expires_at < now)


def claim_due(engine: Engine, *, owner: str, now: int, lease_ms: int, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (oldest first) to ``owner``; a row another process
    claimed or changed in the meantime is skipped."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                _d.id,
                _d.webhook_id,
                _d.org_id,
                _d.sandbox_name,
                _d.event_type,
                _d.payload,
                _d.attempts,
            )
            .where(_d.status.in_(DUE), _d.next_attempt_at <= now, _free(now))
            .order_by(_d.created_at, _d.id)
            .limit(limit)
        ).all()
    claimed: list[Claimed] = []
    for r in rows:
        with engine.begin() as conn:
            got = conn.execute(
                sa.update(webhook_deliveries)
                .where(_d.id == r.id, _d.status.in_(DUE), _d.attempts == r.attempts, _free(now))
                .values(lease_owner=owner, lease_expires_at=now + lease_ms)
            ).rowcount
        if got:
            claimed.append(Claimed(*r))
    return claimed


def finish(engine: Engine, item: Claimed, *, owner: str, outcome: Outcome, now: int) -> None:
    """Record an attempt and release the lease (only while ``owner`` still holds it)."""
    attempts = item.attempts + 1 if outcome.attempted else item.attempts
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(webhook_deliveries)
            .where(_d.id == item.id, _d.lease_owner == owner)
            .values(
                status=outcome.status,
                attempts=attempts,
                next_attempt_at=outcome.next_at,
                lease_owner=None,
                lease_expires_at=None,
                response_code=outcome.code,
                last_error=outcome.error,
                updated_at=now,
                delivered_at=now if outcome.status == SUCCEEDED else None,
            )
        ).rowcount
        if done and outcome.attempted:
            conn.execute(
                sa.insert(webhook_attempts).values(
                    delivery_id=item.id,
                    attempt=attempts,
                    started_at=outcome.started,
                    duration_ms=outcome.duration_ms,
                    response_code=outcome.code,
                    error=outcome.error,
                )
            )


def release(engine: Engine, ids: Sequence[str], *, owner: str) -> None:
    """Give leased deliveries back unattempted, due again at once (a deliverer stopping)."""
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(
            sa.update(webhook_deliveries)
            .where(_d.id.in_(list(ids)), _d.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )


def delete_for_webhook(conn: Connection, *, webhook_id: str) -> None:
    """Remove a webhook's queued deliveries and their attempts."""
    ids = sa.select(_d.id).where(_d.webhook_id == webhook_id)
    conn.execute(sa.delete(webhook_attempts).where(_a.delivery_id.in_(ids)))
    conn.execute(sa.delete(webhook_deliveries).where(_d.webhook_id == webhook_id))


def read_delivery_page(
    conn: Connection,
    *,
    webhook_id: str,
    org_id: str,
    sandbox_name: str,
    status: str | None,
    before: tuple[int, str] | None,
    limit: int,
) -> tuple[list[Any], dict[str, list[Any]]]:
    """Up to ``limit`` deliveries of a webhook, newest first, cut before ``(created_at, id)``,
    and the attempts of each (in order) by delivery id."""
    q = sa.select(webhook_deliveries).where(
        _d.webhook_id == webhook_id, _d.org_id == org_id, _d.sandbox_name == sandbox_name
    )
    if status:
        q = q.where(_d.status == status)
    if before is not None:
        created, last_id = before
        q = q.where(
            sa.or_(_d.created_at < created, sa.and_(_d.created_at == created, _d.id < last_id))
        )
    rows = list(conn.execute(q.order_by(_d.created_at.desc(), _d.id.desc()).limit(limit)).all())
    attempts: dict[str, list[Any]] = {}
    if rows:
        for r in conn.execute(
            sa.select(webhook_attempts)
            .where(_a.delivery_id.in_([p.id for p in rows]))
            .order_by(_a.delivery_id, _a.attempt)
        ):
            attempts.setdefault(r.delivery_id, []).append(r)
    return rows, attempts
