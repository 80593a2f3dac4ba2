"""View models built from service answers: dataflow rows, next runs, run summaries."""

from __future__ import annotations

from typing import Any

from headwater.domain import schedules
from headwater.services import flows, runs
from headwater.services.listing import ListRequest
from headwater.ui import wizard
from headwater.ui.web import Ui

DAY_MS = 86_400_000


def runs_of(
    ui: Ui, flow_id: str, *, since_ms: int | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """A dataflow's runs, newest first (at most ``limit``), through the API's list semantics."""
    props = [f"flowId=={flow_id}"]
    if since_ms is not None:
        props.append(f"createdAt>={since_ms}")
    out: list[dict[str, Any]] = []
    token = None
    while len(out) < limit:
        result = runs.list_runs(
            ui.ctx,
            ui.tenant,
            ListRequest(
                properties=tuple(props),
                orderby="-createdAt",
                limit=str(min(1000, limit - len(out))),
                continuation_token=token,
            ),
        )
        out.extend(result.items)
        token = result.next_token
        if not token:
            break
    return out


def queued_times(recent: list[dict[str, Any]]) -> list[int]:
    """When the queued runs among ``recent`` are due."""
    return [int(r["scheduledAt"]) for r in recent if r.get("state") == "scheduled"]


def next_run(flow: dict[str, Any], queued: list[int], now_ms: int) -> int | None:
    """When the dataflow runs next: its soonest queued run or its schedule's next window."""
    if flow.get("state") != "enabled":
        return None
    soonest = min(queued) if queued else None
    schedule = flows.schedule_of(flow)
    freq = schedule["frequency"]
    if freq not in schedules.PERIOD_MS:
        return soonest
    start = int(schedule["startTime"]) * 1000
    period = schedules.PERIOD_MS[freq] * max(1, schedule["interval"])
    upcoming: int = start if now_ms < start else start + ((now_ms - start) // period + 1) * period
    end = schedule["endTime"]
    if end is not None and upcoming >= end * 1000:
        return soonest
    return min(soonest, upcoming) if soonest is not None else upcoming


def records(run: dict[str, Any]) -> tuple[int, int, int]:
    rs = (run.get("metrics") or {}).get("recordSummary") or {}
    return (
        int(rs.get("inputRecordCount") or 0),
        int(rs.get("outputRecordCount") or 0),
        int(rs.get("failedRecordCount") or 0),
    )


def duration_ms(run: dict[str, Any]) -> int | None:
    ds = (run.get("metrics") or {}).get("durationSummary") or {}
    start, end = ds.get("startedAtUTC"), ds.get("completedAtUTC")
    if isinstance(start, int) and isinstance(end, int) and end >= start:
        return end - start
    return None


def table_of(flow: dict[str, Any]) -> str:
    for src in (flow.get("inheritedAttributes") or {}).get("sourceConnections", []):
        return str((src.get("baseConnection") or {}).get("id", ""))
    return ""


def schedule_text(flow: dict[str, Any]) -> str:
    sp = flow.get("scheduleParams") or {}
    return wizard.describe_schedule(
        {"frequency": sp.get("frequency"), "interval": sp.get("interval")}
    )


def flow_row(ui: Ui, flow: dict[str, Any], *, with_runs: bool = False) -> dict[str, Any]:
    last = flow.get("lastRunDetails") or {}
    row: dict[str, Any] = {
        "id": flow["id"],
        "name": flow.get("name") or flow["id"],
        "state": flow.get("state", "enabled"),
        "schedule": schedule_text(flow),
        "last_state": last.get("state"),
        "last_at": last.get("completedAtUTC") or last.get("startedAtUTC"),
        "last_run": last.get("id"),
        "created": flow.get("createdAt"),
    }
    if with_runs:
        now = ui.ctx.clock()
        summary = runs.recent_runs(ui.ctx, ui.tenant, [flow["id"]], since_ms=now - DAY_MS)
        add_recent(row, flow, summary[flow["id"]], now)
    return row


def flow_rows_with_runs(ui: Ui, flows_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overview rows with each dataflow's last 24 h (one query for every row's runs)."""
    now = ui.ctx.clock()
    summaries = runs.recent_runs(
        ui.ctx, ui.tenant, [f["id"] for f in flows_], since_ms=now - DAY_MS
    )
    rows = []
    for flow in flows_:
        row = flow_row(ui, flow)
        add_recent(row, flow, summaries[flow["id"]], now)
        rows.append(row)
    return rows


def add_recent(
    row: dict[str, Any], flow: dict[str, Any], recent: runs.RecentRuns, now: int
) -> None:
    if recent.running is not None:
        row["last_state"], row["last_run"] = "inProgress", recent.running[0]
        row["last_at"] = recent.running[1]
    row["read_24h"] = recent.read
    row["written_24h"] = recent.written
    row["runs_24h"] = recent.finished
    row["next_run"] = next_run(flow, recent.queued, now)


def utc_label(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%d %b %H:%M UTC")
