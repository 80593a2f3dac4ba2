"""Datasets: the list, and a page per dataset with schema, row count, Delta history, a preview
grid and the snippet to query it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from headwater.services import datasets
from headwater.ui.web import PREFIX, Ui, UiRoute, render, signed_in

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(signed_in)]
PAGE = 50
PREVIEW_ROWS = 20


@router.get(PREFIX + "/datasets", include_in_schema=False)
def dataset_list(ui: UiDep, start: int = 0) -> Response:
    start = max(0, start)
    page = datasets.list_datasets(ui.ctx, ui.tenant, limit=PAGE + 1, start=start, name=None)
    items = list(page.values())
    return render(
        ui.request,
        "datasets.html",
        {
            "items": [
                {
                    "id": d["id"],
                    "name": d["name"],
                    "description": d.get("description", ""),
                    "mode": (d.get("headwater") or {}).get("writeMode", "merge"),
                    "deletes": (d.get("headwater") or {}).get("deletedRecords", "delete"),
                    "created": d.get("created"),
                }
                for d in items[:PAGE]
            ],
            "next_url": f"{PREFIX}/datasets?start={start + PAGE}" if len(items) > PAGE else "",
            "first_url": f"{PREFIX}/datasets" if start else "",
        },
        ui=ui,
        nav="datasets",
    )


def snippets(doc: dict[str, Any]) -> dict[str, str]:
    uri = (doc.get("headwater") or {}).get("tableUri", "")
    name = doc["name"]
    view = name if name.isidentifier() else "dataset"
    return {
        "cli": f"headwater query 'SELECT count(*) FROM \"{name}\"'",
        "duckdb": (
            "import duckdb\n"
            "from deltalake import DeltaTable\n\n"
            f'{view} = DeltaTable("{uri}").to_pyarrow_dataset()\n'
            f'duckdb.sql("SELECT * FROM {view} LIMIT 10").show()'
        ),
        "polars": f'import polars as pl\n\ndf = pl.read_delta("{uri}")\nprint(df.head())',
    }


@router.get(PREFIX + "/datasets/{ds_id}", include_in_schema=False)
def dataset_page(ds_id: str, ui: UiDep) -> Response:
    doc = datasets.get_dataset(ui.ctx, ui.tenant, ds_id)
    table = datasets.describe_table(ui.ctx, ui.tenant, ds_id)
    preview = datasets.preview_dataset(ui.ctx, ui.tenant, ds_id, limit=PREVIEW_ROWS)
    return render(
        ui.request,
        "dataset.html",
        {
            "d": doc,
            "columns": (doc.get("headwater") or {}).get("columns") or [],
            "table": table,
            "preview_columns": [c["name"] for c in preview["columns"]],
            "preview_rows": preview["data"],
            "snippets": snippets(doc),
        },
        ui=ui,
        nav="datasets",
    )
