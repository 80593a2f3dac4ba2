"""Datasets and batches: the Catalog Service subset at ``/data/foundation/catalog``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from headwater.api.deps import CtxDep, TenantDep
from headwater.api.responses import json_response
from headwater.services import datasets

router = APIRouter(tags=["Catalog"])


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=512)
    description: str | None = Field(default=None, max_length=4096)
    schemaRef: dict[str, Any] | None = None  # noqa: N815
    tags: dict[str, list[str]] | None = None  # Catalog: each tag is a list of strings
    headwater: dict[str, Any] | None = Field(
        default=None,
        description='Lake options: {"writeMode": "merge"|"history", "deletedRecords": "delete"|"flag"}',
    )


@router.post("/dataSets", status_code=201)
def create_dataset(body: DatasetCreate, ctx: CtxDep, tenant: TenantDep) -> Response:
    ds_id = datasets.create_dataset(ctx, tenant, body.model_dump(exclude_none=True))
    return json_response([f"@/dataSets/{ds_id}"], 201)


@router.get("/dataSets")
def list_dataset(
    ctx: CtxDep,
    tenant: TenantDep,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    start: Annotated[int | None, Query(ge=0)] = None,
    name: Annotated[str | None, Query()] = None,
) -> Response:
    return json_response(datasets.list_datasets(ctx, tenant, limit=limit, start=start, name=name))


@router.get("/dataSets/{ds_id}")
def get_dataset(ds_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response({ds_id: datasets.get_dataset(ctx, tenant, ds_id)})


@router.delete("/dataSets/{ds_id}")
def delete_dataset(ds_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    datasets.delete_dataset(ctx, tenant, ds_id)
    return json_response([f"@/dataSets/{ds_id}"])


@router.get("/dataSets/{ds_id}/preview")
def preview_dataset(
    ds_id: str,
    ctx: CtxDep,
    tenant: TenantDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> Response:
    return json_response(datasets.preview_dataset(ctx, tenant, ds_id, limit=limit))


@router.get("/batches")
def list_batches(
    ctx: CtxDep,
    tenant: TenantDep,
    dataSet: Annotated[str | None, Query()] = None,  # noqa: N803
    status: Annotated[str | None, Query()] = None,
    createdAfter: Annotated[int | None, Query()] = None,  # noqa: N803
    createdBefore: Annotated[int | None, Query()] = None,  # noqa: N803
    orderBy: Annotated[str | None, Query()] = None,  # noqa: N803
    start: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> Response:
    query = datasets.BatchQuery(
        dataset=dataSet,
        status=status,
        created_after=createdAfter,
        created_before=createdBefore,
        order_by=orderBy,
        start=start,
        limit=limit,
    )
    return json_response(datasets.list_batches(ctx, tenant, query))


@router.get("/batches/{batch_id}")
def get_batch(batch_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response(datasets.get_batch(ctx, tenant, batch_id))
