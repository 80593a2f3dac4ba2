"""Monitoring: every dataflow's state, each dataflow's run history and chart, run details with
live progress (htmx polling)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from headwater.services import dataflow_connections as conns
from headwater.services import flows, runs
from headwater.services.listing import ListRequest
from headwater.ui import advice, charts, views
from headwater.ui.web import PREFIX, Ui, UiRoute, render, signed_in

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(signed_in)]
PAGE = 10  # each row sums its runs of the last 24 h: ten rows keep the page fast
HISTORY_PAGE = 25
CHART_RUNS = 50


@router.get(PREFIX + "/monitoring", include_in_schema=False)
def overview(ui: UiDep, page: str | None = None) -> Response:
    result = flows.list_flows(
        ui.ctx,
        ui.tenant,
        ListRequest(orderby="-createdAt", limit=str(PAGE), continuation_token=page),
    )
    rows = views.flow_rows_with_runs(ui, result.items)
    return render(
        ui.request,
        "monitoring.html",
        {
            "rows": rows,
            "next_url": f"{PREFIX}/monitoring?page={result.next_token}"
            if result.next_token
            else "",
            "first_url": f"{PREFIX}/monitoring" if page else "",
        },
        ui=ui,
        nav="monitoring",
    )


def _points(history: list[dict[str, Any]]) -> list[charts.Point]:
    points = []
    for run in reversed(history):
        read, written, _ = views.records(run)
        at = int(run.get("createdAt") or 0)
        points.append(
            charts.Point(
                label=f"{views.utc_label(at)}",
                at_ms=at,
                read=read,
                written=written,
                seconds=(views.duration_ms(run) or 0) / 1000,
                failed=run.get("state") == "failed",
            )
        )
    return points


def _target_datasets(ui: Ui, flow: dict[str, Any]) -> list[str]:
    out = []
    for tid in flow.get("targetConnectionIds", []):
        target = conns.get(ui.ctx, ui.tenant, conns.TARGET, tid)
        ds = (target.get("params") or {}).get("dataSetId")
        if isinstance(ds, str):
            out.append(ds)
    return out


def _source_tables(ui: Ui, flow: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for sid in flow.get("sourceConnectionIds", []):
        source = conns.get(ui.ctx, ui.tenant, conns.SOURCE, sid)
        out.append(
            {
                "table": conns.source_table(source) or "",
                "account": str(source.get("baseConnectionId", "")),
            }
        )
    return out


@router.get(PREFIX + "/monitoring/{flow_id}", include_in_schema=False)
def history(flow_id: str, ui: UiDep, page: str | None = None) -> Response:
    flow = flows.get_flow(ui.ctx, ui.tenant, flow_id)
    result = runs.list_runs(
        ui.ctx,
        ui.tenant,
        ListRequest(
            properties=(f"flowId=={flow_id}",),
            orderby="-createdAt",
            limit=str(HISTORY_PAGE),
            continuation_token=page,
        ),
    )
    recent = result.items if not page else views.runs_of(ui, flow_id, limit=CHART_RUNS)
    if not page and len(recent) < CHART_RUNS and result.next_token:
        recent = views.runs_of(ui, flow_id, limit=CHART_RUNS)
    chart_runs = [
        r for r in recent if views.duration_ms(r) is not None or r.get("state") == "inProgress"
    ][:CHART_RUNS]
    row = views.flow_row(ui, flow)
    row["next_run"] = views.next_run(flow, views.queued_times(recent), ui.ctx.clock())
    return render(
        ui.request,
        "flow_history.html",
        {
            "flow": flow,
            "row": row,
            "runs": [_run_row(r) for r in result.items],
            "chart": charts.runs_chart(_points(chart_runs), title=f"Runs of {row['name']}")
            if chart_runs
            else "",
            "datasets": _target_datasets(ui, flow),
            "sources": _source_tables(ui, flow),
            "once": (flow.get("scheduleParams") or {}).get("frequency") == "once",
            "next_url": f"{PREFIX}/monitoring/{flow_id}?page={result.next_token}"
            if result.next_token
            else "",
            "first_url": f"{PREFIX}/monitoring/{flow_id}" if page else "",
        },
        ui=ui,
        nav="monitoring",
    )


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    read, written, failed = views.records(run)
    errors = ((run.get("metrics") or {}).get("statusSummary") or {}).get("errors") or []
    return {
        "id": run["id"],
        "state": run.get("state"),
        "trigger": run.get("trigger"),
        "created": run.get("createdAt"),
        "scheduled": run.get("scheduledAt"),
        "started": ((run.get("metrics") or {}).get("durationSummary") or {}).get("startedAtUTC"),
        "read": read,
        "written": written,
        "failed": failed,
        "duration": views.duration_ms(run),
        "error": errors[0]["code"] if errors else "",
        "mode": (run.get("params") or {}).get("mode", ""),
    }


def _activity(run: dict[str, Any], key: str) -> dict[str, Any]:
    return next((a for a in run.get("activities") or [] if a.get("id") == key), {})


def row_errors(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Row-level errors, wherever the run document carries them."""
    found: list[dict[str, Any]] = []
    for holder in [run, run.get("metrics") or {}, *(run.get("activities") or [])]:
        for key in ("rowErrors", "recordErrors"):
            value = holder.get(key) if isinstance(holder, dict) else None
            if isinstance(value, list):
                found.extend(v if isinstance(v, dict) else {"message": str(v)} for v in value)
        summary = holder.get("statusSummary") if isinstance(holder, dict) else None
        if isinstance(summary, dict) and isinstance(summary.get("rowErrors"), list):
            found.extend(v for v in summary["rowErrors"] if isinstance(v, dict))
    return found


def _detail(run: dict[str, Any]) -> dict[str, Any]:
    copy = _activity(run, "copyActivity")
    promotion = _activity(run, "promotionActivity")
    ext = (copy.get("statusSummary") or {}).get("extensions") or {}
    read, written, failed = views.records(run)
    rs = (run.get("metrics") or {}).get("recordSummary") or {}
    errors = [
        {**e, "advice": advice.what_to_do(str(e.get("code", "")))}
        for e in ((run.get("metrics") or {}).get("statusSummary") or {}).get("errors") or []
    ]
    expected = ext.get("expectedTotal")
    done = int((copy.get("recordSummary") or {}).get("inputRecordCount") or read)
    bad_rows = row_errors(run)
    return {
        "read": read,
        "written": written,
        "failed": failed,
        "created": int(rs.get("createdRecordCount") or 0),
        "updated": int(rs.get("updatedRecordCount") or 0),
        "deleted": int(rs.get("deletedRecordCount") or 0),
        "skipped": int(rs.get("skippedRecordCount") or 0),
        "duration": views.duration_ms(run),
        "strategy": ext.get("strategy") or "",
        "reason": ext.get("reason") or "",
        "pages": ext.get("pages") or 0,
        "expected": expected,
        "done": done,
        "percent": min(100, int(done * 100 / expected)) if expected else None,
        "table_version": ((promotion.get("statusSummary") or {}).get("extensions") or {}).get(
            "tableVersion"
        ),
        "write_mode": ((promotion.get("statusSummary") or {}).get("extensions") or {}).get("mode"),
        "checks": _checks(ext, promotion),
        "errors": errors,
        "row_errors": bad_rows,
        "row_error_columns": list(dict.fromkeys(k for r in bad_rows for k in r))[:8],
        "live": run.get("state") in ("scheduled", "inProgress"),
    }


def _checks(ext: dict[str, Any], promotion: dict[str, Any]) -> list[str]:
    """What the read checked beyond changed records, in words (deletes, associations, merges,
    reconciliation)."""
    out = [str(ext[k]) for k in ("deletes", "associations") if ext.get(k)]
    if ext.get("associationChanges"):
        out.append(f"{int(ext['associationChanges']):,} records with changed associations")
    if ext.get("mergedRecords"):
        out.append(f"{int(ext['mergedRecords']):,} merged-away records removed")
    reconciled = ((promotion.get("statusSummary") or {}).get("extensions") or {}).get(
        "reconciledRecordCount"
    )
    if reconciled:
        out.append(f"{int(reconciled):,} records no longer in the source removed")
    return out


@router.get(PREFIX + "/runs/{run_id}", include_in_schema=False)
def run_detail(run_id: str, ui: UiDep) -> Response:
    run = runs.get_run(ui.ctx, ui.tenant, run_id)
    flow = flows.get_flow(ui.ctx, ui.tenant, run["flowId"])
    return render(
        ui.request,
        "run.html",
        {
            "run": run,
            "flow": flow,
            "d": _detail(run),
            "sources": _source_tables(ui, flow),
            "datasets": _target_datasets(ui, flow),
        },
        ui=ui,
        nav="monitoring",
    )


@router.get(PREFIX + "/runs/{run_id}/progress", include_in_schema=False)
def run_progress(run_id: str, ui: UiDep) -> Response:
    run = runs.get_run(ui.ctx, ui.tenant, run_id)
    d = _detail(run)
    response = render(ui.request, "_progress.html", {"run": run, "d": d}, ui=ui)
    if not d["live"]:
        response.headers["HX-Refresh"] = "true"
    return response
