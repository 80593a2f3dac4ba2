"""Materialise due runs from every enabled flow's schedule, idempotently: one run per flow and
window, even with several schedulers (a unique key on ``flow:window``)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa

from headwater.services import runs as run_service
from headwater.services.context import ServiceContext, Tenant
from headwater.store.tables import resources

log = logging.getLogger("headwater.scheduler")

PERIOD_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000, "week": 604_800_000}


def due_window(schedule: dict[str, Any], now_ms: int) -> tuple[int, int] | None:
    """The schedule window containing ``now`` as ``(start, end)`` epoch ms, or None."""
    freq = schedule.get("frequency")
    if freq not in PERIOD_MS:
        return None
    start = int(schedule["startTime"]) * 1000
    if now_ms < start:
        return None
    end_time = schedule.get("endTime")
    if end_time is not None and now_ms >= int(end_time) * 1000:
        return None
    period = PERIOD_MS[freq] * max(1, int(schedule.get("interval") or 1))
    k = (now_ms - start) // period
    window_start = start + k * period
    return window_start, window_start + period


def tick(ctx: ServiceContext) -> int:
    """Queue the current window of every enabled scheduled flow; returns how many were new."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(resources.c.doc, resources.c.org_id, resources.c.sandbox_name).where(
                resources.c.kind == "flows"
            )
        ).all()
    created = 0
    import json

    for row in rows:
        flow = json.loads(row.doc)
        if flow.get("state") != "enabled":
            continue
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
