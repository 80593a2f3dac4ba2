"""``login``, ``profiles``, ``connections``, ``flows``, ``runs`` and ``datasets``: the operator
commands, which talk to a running server over the public API only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.text import Text

from headwater.cli_remote.client import (
    CATALOG,
    FLOW,
    ApiClient,
    RemoteError,
    UsageError,
    error_code,
    segment,
)
from headwater.cli_remote.output import (
    console,
    details,
    dig,
    duration,
    emit_json,
    say,
    state_text,
    table,
    when,
)
from headwater.cli_remote.profiles import Profile, home_dir, load_book, save_book, select

profiles_app = typer.Typer(no_args_is_help=True, help="Stored API profiles.")
connections_app = typer.Typer(no_args_is_help=True, help="Base connections (over the API).")
flows_app = typer.Typer(no_args_is_help=True, help="Dataflows (over the API).")
runs_app = typer.Typer(no_args_is_help=True, help="Flow runs (over the API).")
datasets_app = typer.Typer(no_args_is_help=True, help="Catalog datasets (over the API).")

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile to use (default: $HEADWATER_PROFILE, then the default profile).",
        show_default=False,
    ),
]
PropertyOpt = Annotated[
    list[str] | None,
    typer.Option("--property", help="Flow Service filter, e.g. name==x (repeat to AND)."),
]
IdArg = Annotated[str, typer.Argument(help="Resource id.")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="At most this many.")]


@contextmanager
def api(profile: str | None) -> Iterator[ApiClient]:
    home = home_dir()
    with ApiClient(select(load_book(home), profile), home) as client:
        yield client


# --------------------------------------------------------------------------- login / profiles


def login(
    endpoint: Annotated[str, typer.Option(help="Server URL, e.g. http://127.0.0.1:8080.")],
    org: Annotated[str, typer.Option(help="IMS org id (XXXX@AdobeOrg).")],
    client_id: Annotated[str, typer.Option("--client-id", help="API client id (x-api-key).")],
    client_secret: Annotated[
        str,
        typer.Option(
            "--client-secret",
            help="API client secret (else $HEADWATER_CLIENT_SECRET, else prompted).",
            envvar="HEADWATER_CLIENT_SECRET",
            prompt=True,
            hide_input=True,
            show_envvar=False,
        ),
    ],
    sandbox: Annotated[str, typer.Option(help="Sandbox name.")] = "prod",
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile name.")] = "default",
    make_default: Annotated[
        bool, typer.Option("--default", help="Make it the default profile.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Store a profile, after checking it: get a token and list one connection with it."""
    home = home_dir()
    prof = Profile(
        name=profile,
        endpoint=endpoint.rstrip("/"),
        org=org,
        sandbox=sandbox,
        client_id=client_id,
        client_secret=client_secret,
    )
    book = load_book(home)
    with ApiClient(prof, home, persist=False) as client:
        client.get(f"{FLOW}/connections", limit=1)
        book.profiles[profile] = prof
        if make_default or book.default not in book.profiles:
            book.default = profile
        path = save_book(home, book)
        client.save_token()
    if as_json:
        emit_json(prof.public() | {"default": book.default == profile, "file": str(path)})
        return
    say(
        f"logged in to {prof.endpoint} as {client_id} for {org} (sandbox {sandbox}); "
        f"profile {profile} saved in {path}"
    )


@profiles_app.command("list")
def profiles_list(as_json: JsonOpt = False) -> None:
    """List stored profiles (secrets hidden)."""
    book = load_book(home_dir())
    rows = [p.public() | {"default": p.name == book.default} for p in book.profiles.values()]
    if as_json:
        emit_json(rows)
        return
    console.print(
        table(
            ["", "NAME", "ENDPOINT", "ORG", "SANDBOX", "CLIENT"],
            [
                [
                    "*" if r["default"] else "",
                    r["name"],
                    r["endpoint"],
                    r["org"],
                    r["sandbox"],
                    r["client_id"],
                ]
                for r in rows
            ],
        )
    )


@profiles_app.command("use")
def profiles_use(name: Annotated[str, typer.Argument(help="Profile name.")]) -> None:
    """Make a profile the default."""
    home = home_dir()
    book = load_book(home)
    select(book, name)
    book.default = name
    save_book(home, book)
    say(f"default profile: {name}")


# --------------------------------------------------------------------------- connections


def _spec_names(client: ApiClient) -> dict[str, str]:
    body = client.get(f"{FLOW}/connectionSpecs")
    return {s["id"]: s.get("name", s["id"]) for s in body.get("items", [])}


@connections_app.command("list")
def connections_list(
    prop: PropertyOpt = None,
    limit: LimitOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List base connections."""
    with api(profile) as client:
        items = list(client.pages("connections", properties=prop, limit=limit))
        if as_json:
            emit_json(items)
            return
        specs = _spec_names(client)
    console.print(
        table(
            ["ID", "NAME", "SOURCE", "AUTH", "STATE", "UPDATED"],
            [
                [
                    c["id"],
                    c.get("name"),
                    specs.get(dig(c, "connectionSpec", "id"), dig(c, "connectionSpec", "id")),
                    dig(c, "auth", "specName"),
                    state_text(c.get("state")),
                    when(c.get("updatedAt")),
                ]
                for c in items
            ],
            title=f"{len(items)} connection(s)",
        )
    )


@connections_app.command("show")
def connections_show(conn_id: IdArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Show one connection (secrets are masked by the server)."""
    with api(profile) as client:
        conn = client.one("connections", conn_id)
        if as_json:
            emit_json(conn)
            return
        spec_id = dig(conn, "connectionSpec", "id")
        spec = _spec_names(client).get(spec_id, "")
    params = dig(conn, "auth", "params", default={})
    console.print(
        details(
            [
                ("id", conn["id"]),
                ("name", conn.get("name")),
                ("description", conn.get("description")),
                ("source", f"{spec} ({spec_id})" if spec else spec_id),
                ("auth", dig(conn, "auth", "specName")),
                *((f"  {k}", v) for k, v in params.items()),
                ("state", state_text(conn.get("state"))),
                ("created", when(conn.get("createdAt"))),
                ("updated", when(conn.get("updatedAt"))),
                ("etag", conn.get("etag")),
            ]
        )
    )


@connections_app.command("test")
def connections_test(conn_id: IdArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Check a connection's credentials against its source; exit 1 when they fail."""
    with api(profile) as client:
        body = client.get(f"{FLOW}/connections/{segment(conn_id)}/test")
    ok = bool(body.get("result"))
    if as_json:
        emit_json(body)
    elif ok:
        say(Text("✓ ", style="green"), f"connection {conn_id} works")
    if not ok:
        code, message = error_code(body.get("error"))
        raise RemoteError(
            f"connection {conn_id} test failed: {message or 'no reason given'}", code=code
        )


@connections_app.command("explore")
def connections_explore(
    conn_id: IdArg,
    table_name: Annotated[
        str | None, typer.Option("--table", help="A table, e.g. Hubspot.Contacts.")
    ] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Add sample rows.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Sample rows with --preview.")] = 10,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a source's tables, or one table's columns (and sample rows with --preview)."""
    if preview and not table_name:
        raise UsageError("--preview needs --table")
    params: dict[str, Any] = {"objectType": "table" if table_name else "root"}
    if table_name:
        params["object"] = table_name
        if preview:
            params |= {"preview": "true", "limit": limit}
    with api(profile) as client:
        body = client.get(f"{FLOW}/connections/{segment(conn_id)}/explore", **params)
    if as_json:
        emit_json(body)
        return
    if not table_name:
        console.print(
            table(
                ["NAME", "TYPE", "PATH"],
                [[t.get("name"), t.get("type"), t.get("path")] for t in body],
                title=f"{len(body)} table(s)",
            )
        )
        return
    columns = dig(body, "schema", "columns", default=[])
    console.print(
        table(
            ["COLUMN", "TYPE"],
            [[c.get("name"), c.get("type")] for c in columns],
            title=f"{table_name}: {len(columns)} column(s), format {body.get('format', '')}",
        )
    )
    if preview:
        _print_rows(body.get("data", []), title=f"{table_name}: sample rows")


def _print_rows(rows: list[dict[str, Any]], *, title: str, max_columns: int = 8) -> None:
    """Rows as a table when they are narrow, else one key/value block per row."""
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    if len(names) <= max_columns:
        console.print(table(names, [[row.get(k) for k in names] for row in rows], title=title))
        return
    console.print(title, style="italic", soft_wrap=True)
    for i, row in enumerate(rows, 1):
        console.print(details([(k, row.get(k)) for k in names], title=f"row {i}"))


# --------------------------------------------------------------------------- flows


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
        console.print(_runs_table(recent, title="latest runs", with_flow=False))


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
    watch: Annotated[bool, typer.Option("--watch", help="Follow the run until it ends.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls with --watch.")] = 1.0,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue a run of an enabled flow now (and with --watch, follow it)."""
    from headwater.cli_remote.watch import watch_run

    with api(profile) as client:
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
    say(f"queued run {run['id']} of flow {flow_id}")
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


# --------------------------------------------------------------------------- runs


def run_error(run: dict[str, Any]) -> tuple[str, str]:
    """``(code, message)`` of a run's first error, or empty strings."""
    err = dig(run, "metrics", "statusSummary", "errors", 0, default={})
    return str(err.get("code", "")), str(err.get("message", ""))


def _runs_table(runs: list[dict[str, Any]], *, title: str, with_flow: bool = True) -> Any:
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
    console.print(_runs_table(items, title=f"{len(items)} run(s)", with_flow=flow is None))


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
    from headwater.cli_remote.watch import watch_run

    with api(profile) as client:
        watch_run(client, run_id, interval=interval, as_json=as_json)


# --------------------------------------------------------------------------- datasets


@datasets_app.command("list")
def datasets_list(
    name: Annotated[str | None, typer.Option(help="Only the dataset of this name.")] = None,
    limit: LimitOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List datasets (Catalog)."""
    items: list[dict[str, Any]] = []
    page = 100
    with api(profile) as client:
        while limit is None or len(items) < limit:
            body = client.get(f"{CATALOG}/dataSets", limit=page, start=len(items), name=name)
            items += [doc | {"id": ds_id} for ds_id, doc in body.items()]
            if len(body) < page:
                break
    items = items[:limit] if limit is not None else items
    if as_json:
        emit_json(items)
        return
    console.print(
        table(
            ["ID", "NAME", "WRITE MODE", "DELETED RECORDS", "CREATED"],
            [
                [
                    d["id"],
                    d.get("name"),
                    dig(d, "headwater", "writeMode"),
                    dig(d, "headwater", "deletedRecords"),
                    when(d.get("created")),
                ]
                for d in items
            ],
            title=f"{len(items)} dataset(s)",
        )
    )


@datasets_app.command("show")
def datasets_show(ds_id: IdArg, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
    """Show a dataset, its columns and its latest batches."""
    with api(profile) as client:
        body = client.get(f"{CATALOG}/dataSets/{segment(ds_id)}")
        doc: dict[str, Any] = body.get(ds_id) or next(iter(body.values()), {})
        batches = client.get(f"{CATALOG}/batches", dataSet=ds_id, limit=10)
    batch_list = [b | {"id": b_id} for b_id, b in batches.items()]
    if as_json:
        emit_json(doc | {"id": ds_id, "batches": batch_list})
        return
    hw = doc.get("headwater") or {}
    console.print(
        details(
            [
                ("id", ds_id),
                ("name", doc.get("name")),
                ("description", doc.get("description")),
                ("write mode", hw.get("writeMode")),
                ("deleted records", hw.get("deletedRecords")),
                ("table", hw.get("tableUri")),
                ("created", when(doc.get("created"))),
                ("updated", when(doc.get("updated"))),
            ]
        )
    )
    columns = hw.get("columns") or []
    if columns:
        console.print(
            table(
                ["COLUMN", "TYPE"],
                [[c.get("name"), c.get("type")] for c in columns],
                title=f"{len(columns)} column(s)",
            )
        )
    else:
        say("no data yet")
    if batch_list:
        console.print(
            table(
                ["BATCH", "STATUS", "RECORDS", "RUN", "COMPLETED"],
                [
                    [
                        b["id"],
                        state_text(b.get("status")),
                        b.get("recordCount"),
                        dig(b, "relatedObjects", 1, "id"),
                        when(b.get("completed")),
                    ]
                    for b in reversed(batch_list)
                ],
                title="latest batches",
            )
        )


@datasets_app.command("preview")
def datasets_preview(
    ds_id: IdArg,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Rows to show.")] = 10,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the first rows of a dataset."""
    with api(profile) as client:
        body = client.get(f"{CATALOG}/dataSets/{segment(ds_id)}/preview", limit=limit)
    if as_json:
        emit_json(body)
        return
    rows = body.get("data") or []
    if not rows:
        say(f"dataset {ds_id} has no rows yet")
        return
    _print_rows(rows, title=f"{len(rows)} row(s) of dataset {ds_id}")
