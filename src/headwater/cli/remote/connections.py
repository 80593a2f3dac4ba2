"""``connections``: list, show, test and explore base connections over the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from headwater.cli.remote.client import FLOW, ApiClient, error_code, segment
from headwater.cli.remote.options import IdArg, JsonOpt, LimitOpt, ProfileOpt, PropertyOpt, api
from headwater.cli.remote.output import (
    console,
    details,
    dig,
    emit_json,
    print_rows,
    say,
    state_text,
    table,
    when,
)
from headwater.errors import RemoteError, UsageError

connections_app = typer.Typer(no_args_is_help=True, help="Base connections (over the API).")


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
        print_rows(body.get("data", []), title=f"{table_name}: sample rows")
