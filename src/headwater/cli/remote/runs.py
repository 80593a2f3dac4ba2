"""``runs``: list, show and watch flow runs over the API."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from headwater.cli.remote.options import IdArg, JsonOpt, ProfileOpt, PropertyOpt, api
from headwater.cli.remote.output import (
    console,
    details,
    dig,
    duration,
    emit_json,
    state_text,
    table,
    when,
)
from headwater.cli.remote.watch import watch_run

runs_app = typer.Typer(no_args_is_help=True, help="Flow runs (over the API).")


def run_error(run: dict[str, Any]) -> tuple[str, str]:
    """``(code, message)`` of a run's first error, or empty strings."""
    err = dig(run, "metrics", "statusSummary", "errors", 0, default={})
    return str(err.get("code", "")), str(err.get("message", ""))


def runs_table(runs: list[dict[str, Any]], *, title: str, with_flow: bool = True) -> Any:
    columns = ["ID", "STATE", "TRIGGER", "RECORDS", "STARTED", "DURATION", "FLOW", "ERROR"]
    rows = [
        [
            r["id"],
            state_text(r.get("state")),
            r.get("trigger"),
            dig(r, "metrics", "recordSummary", "inputRecordCount", default=0),
            when(dig(r, "metrics", "durationSummary", "startedAtUTC")),
            _run_duration(r),
            r.get("flowId"),
            " ".join(p for p in run_error(r) if p),
        ]
        for r in runs
    ]
    if not with_flow:
        columns.remove("FLOW")
        rows = [row[:6] + row[7:] for row in rows]
    return table(columns, rows, title=title)


def _run_duration(run: dict[str, Any]) -> str:
    started = dig(run, "metrics", "durationSummary", "startedAtUTC")
    ended = dig(run, "metrics", "durationSummary", "completedAtUTC")
    if not isinstance(started, int):
        return ""
    end = ended if isinstance(ended, int) else int(time.time() * 1000)
    return duration(end - started)


@runs_app.command("list")
def runs_list(
    flow: Annotated[str | None, typer.Option("--flow", help="Only runs of this flow.")] = None,
    state: Annotated[str | None, typer.Option(help="Only runs in this state.")] = None,
    prop: PropertyOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 20,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List runs, newest first."""
    props = list(prop or [])
    if flow:
        props.append(f"flowId=={flow}")
    if state:
        props.append(f"state=={state}")
    with api(profile) as client:
        items = list(client.pages("runs", properties=props, orderby="-createdAt", limit=limit))
    if as_json:
        emit_json(items)
        return
    console.print(runs_table(items, title=f"{len(items)} run(s)", with_flow=flow is None))


@runs_app.command("show")
def runs_show(run_id: IdArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Show a run: status, metrics, activities and errors."""
    with api(profile) as client:
        run = client.one("runs", run_id)
    if as_json:
        emit_json(run)
        return
    records = dig(run, "metrics", "recordSummary", default={})
    code, message = run_error(run)
    console.print(
        details(
            [
                ("id", run["id"]),
                ("flow", run.get("flowId")),
                ("state", state_text(run.get("state"))),
                ("trigger", run.get("trigger")),
                ("attempt", run.get("attempt")),
                ("created", when(run.get("createdAt"))),
                ("started", when(dig(run, "metrics", "durationSummary", "startedAtUTC"))),
                ("completed", when(dig(run, "metrics", "durationSummary", "completedAtUTC"))),
                ("duration", _run_duration(run)),
                ("records read", records.get("inputRecordCount")),
                ("records written", records.get("outputRecordCount")),
                ("records failed", records.get("failedRecordCount")),
                ("error", f"{message} [{code}]" if code else message),
            ]
        )
    )
    activities = run.get("activities") or []
    if activities:
        console.print(
            table(
                ["ACTIVITY", "STATUS", "RECORDS IN", "RECORDS OUT", "DETAILS"],
                [
                    [
                        a.get("id"),
                        state_text(dig(a, "statusSummary", "status")),
                        dig(a, "recordSummary", "inputRecordCount"),
                        dig(a, "recordSummary", "outputRecordCount"),
                        _activity_details(a),
                    ]
                    for a in activities
                ],
                title="activities",
            )
        )


def _activity_details(activity: dict[str, Any]) -> str:
    ext = dig(activity, "statusSummary", "extensions", default={})
    parts = [f"{k}={v}" for k, v in ext.items() if v not in (None, "", [], {})]
    return ", ".join(parts)


@runs_app.command("watch")
def runs_watch(
    run_id: IdArg,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 1.0,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Follow a run with a progress bar until it ends; exit 1 if it failed or was cancelled."""
    with api(profile) as client:
        watch_run(client, run_id, interval=interval, as_json=as_json)
