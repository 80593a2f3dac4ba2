"""``datasets``: list, show and preview Catalog datasets over the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from headwater.cli.remote.client import CATALOG, segment
from headwater.cli.remote.options import IdArg, JsonOpt, LimitOpt, ProfileOpt, api
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

datasets_app = typer.Typer(no_args_is_help=True, help="Catalog datasets (over the API).")


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
    print_rows(rows, title=f"{len(rows)} row(s) of dataset {ds_id}")
