"""``flows``: list, show, run (and follow), enable and disable dataflows over the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from headwater.cli.remote.client import FLOW, ApiClient, segment
from headwater.cli.remote.options import IdArg, JsonOpt, LimitOpt, ProfileOpt, PropertyOpt, api
from headwater.cli.remote.output import (
    console,
    details,
    dig,
    emit_json,
    say,
    state_text,
    table,
    when,
)
from headwater.cli.remote.runs import runs_table
from headwater.cli.remote.watch import watch_run
from headwater.errors import RemoteError

flows_app = typer.Typer(no_args_is_help=True, help="Dataflows (over the API).")


def _schedule(flow: dict[str, Any]) -> str:
    sched = flow.get("scheduleParams") or {}
    freq = sched.get("frequency", "")
    interval = sched.get("interval")
    return f"every {interval} {freq}" if interval and freq != "once" else str(freq)


def _last_run(flow: dict[str, Any]) -> Text:
    last = flow.get("lastRunDetails") or {}
    if not last:
        return Text("")
    at = when(last.get("completedAtUTC") or last.get("startedAtUTC"))
    return state_text(last.get("state")) + (f" {at}" if at else "")


@flows_app.command("list")
def flows_list(
    prop: PropertyOpt = None,
    limit: LimitOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List dataflows."""
    with api(profile) as client:
        items = list(client.pages("flows", properties=prop, limit=limit))
    if as_json:
        emit_json(items)
        return
    console.print(
        table(
            ["ID", "NAME", "STATE", "SCHEDULE", "LAST RUN"],
            [
                [f["id"], f.get("name"), state_text(f.get("state")), _schedule(f), _last_run(f)]
                for f in items
            ],
            title=f"{len(items)} flow(s)",
        )
    )


@flows_app.command("show")
def flows_show(flow_id: IdArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Show a dataflow and its latest runs."""
    with api(profile) as client:
        flow = client.one("flows", flow_id)
        recent = list(
            client.pages("runs", properties=[f"flowId=={flow_id}"], orderby="-createdAt", limit=5)
        )
        if as_json:
            emit_json(flow | {"recentRuns": recent})
            return
        sources = [client.one("sourceConnections", i) for i in flow.get("sourceConnectionIds", [])]
        targets = [client.one("targetConnections", i) for i in flow.get("targetConnectionIds", [])]
    console.print(
        details(
            [
                ("id", flow["id"]),
                ("name", flow.get("name")),
                ("description", flow.get("description")),
                ("state", state_text(flow.get("state"))),
                ("flow spec", dig(flow, "flowSpec", "id")),
                *(
                    (
                        "source",
                        f"{dig(s, 'params', 'path', default='')} (source connection {s['id']} "
                        f"of connection {s.get('baseConnectionId', '')})",
                    )
                    for s in sources
                ),
                *(
                    (
                        "target",
                        f"dataset {dig(t, 'params', 'dataSetId', default='')} "
                        f"(target connection {t['id']})",
                    )
                    for t in targets
                ),
                ("schedule", _schedule(flow)),
                ("last run", _last_run(flow)),
                ("last operation", dig(flow, "lastOperation", "operation")),
                ("created", when(flow.get("createdAt"))),
                ("updated", when(flow.get("updatedAt"))),
            ]
        )
    )
    if recent:
        console.print(runs_table(recent, title="latest runs", with_flow=False))


def _newest_manual_run(client: ApiClient, flow_id: str) -> dict[str, Any] | None:
    runs = client.pages(
        "runs",
        properties=[f"flowId=={flow_id}", "trigger==manual"],
        orderby="-createdAt",
        limit=1,
    )
    return next(iter(runs), None)


@flows_app.command("run")
def flows_run(
    flow_id: IdArg,
    full: Annotated[
        bool,
        typer.Option("--full", help="Re-read every row (a reset), not just what changed."),
    ] = False,
    tables: Annotated[
        list[str] | None,
        typer.Option("--table", help="With --full: only this table (repeatable)."),
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Follow the run until it ends.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls with --watch.")] = 1.0,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue a run of an enabled flow now (and with --watch, follow it)."""
    if tables and not full:
        raise typer.BadParameter("--table needs --full", param_hint="--table")
    with api(profile) as client:
        if full:
            params: dict[str, Any] = {"mode": "full"}
            if tables:
                params["tables"] = list(tables)
            body = client.request(
                "POST", f"{FLOW}/runs", json={"flowId": flow_id, "params": params}
            )
            items = body.get("items") if isinstance(body, dict) else None
            run = items[0] if items else body
        else:
            before = _newest_manual_run(client, flow_id)
            client.post(f"{FLOW}/flows/{segment(flow_id)}/action", op="run")
            run = _newest_manual_run(client, flow_id)
            if run is None or (before is not None and run["id"] == before["id"]):
                raise RemoteError(f"flow {flow_id} accepted the run but the new run is not listed")
        if watch:
            watch_run(client, run["id"], interval=interval, as_json=as_json)
            return
    if as_json:
        emit_json(run)
        return
    kind = "full refresh" if full else "run"
    say(f"queued {kind} {run['id']} of flow {flow_id}")
    say(f"follow it with: headwater runs watch {run['id']}")


def _flow_action(flow_id: str, op: str, profile: str | None, as_json: bool) -> None:
    with api(profile) as client:
        client.post(f"{FLOW}/flows/{segment(flow_id)}/action", op=op)
        flow = client.one("flows", flow_id)
    if as_json:
        emit_json({"id": flow["id"], "state": flow.get("state"), "etag": flow.get("etag")})
        return
    say(f"flow {flow_id} is now ", state_text(flow.get("state")))


@flows_app.command("enable")
def flows_enable(flow_id: IdArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Enable a flow: its schedule queues runs again."""
    _flow_action(flow_id, "enable", profile, as_json)


@flows_app.command("disable")
def flows_disable(flow_id: IdArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Disable a flow: no new runs, queued runs are cancelled."""
    _flow_action(flow_id, "disable", profile, as_json)
