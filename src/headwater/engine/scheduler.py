"""Materialise due runs from every enabled flow's schedule, idempotently: one run per flow and
window, even with several schedulers (a unique key on ``flow:window``)."""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from headwater.domain.schedules import due_window
from headwater.services import runs as run_service
from headwater.services.context import ServiceContext, Tenant
from headwater.store.schedules import read_enabled_flows

log = logging.getLogger("headwater.scheduler")


def tick(ctx: ServiceContext) -> int:
    """Queue the current window of every enabled scheduled flow; returns how many were new."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        flows = read_enabled_flows(conn)
    created = 0
    for row in flows:
        flow = row.doc
        window = due_window(flow.get("scheduleParams", {}), now)
        if window is None:
            continue
        tenant = Tenant(
            org_id=row.org_id,
            sandbox_name=row.sandbox_name,
            sandbox_id=flow.get("sandboxId", ""),
            client_id=flow.get("createdClient", ""),
        )
        run_id = run_service.enqueue(
            ctx,
            tenant,
            flow,
            trigger="schedule",
            scheduled_for=window[0],
            window_start=window[0],
            window_end=window[1],
            dedupe_key=f"{flow['id']}:{window[0]}",
        )
        if run_id is not None:
            created += 1
            log.info("queued run %s of flow %s for window %s", run_id, flow["id"], window)
    return created


def run_forever(ctx: ServiceContext, stop: threading.Event, *, every_s: float = 1.0) -> None:
    while not stop.is_set():
        try:
            tick(ctx)
        except sa.exc.SQLAlchemyError:
            log.exception("scheduler tick failed; retrying")
        stop.wait(every_s)
