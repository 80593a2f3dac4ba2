"""Base connections (``/connections``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from headwater.api.deps import CtxDep, ListDep, TenantDep
from headwater.api.models import IfMatch, PatchBody, PatchOp, SpecRef, patch_ops
from headwater.api.responses import json_response, list_response
from headwater.domain.paths import FLOW_SERVICE_PATH
from headwater.services import connections as service
from headwater.services import sources
from headwater.services.context import ServiceContext
from headwater.services.listing import parse_bool

router = APIRouter(tags=["Connections"])
T = TypeVar("T")


async def _read(ctx: ServiceContext, fn: Callable[[], T], *, short: bool) -> T:
    """A read inline when it is short and local (one indexed SQLite read costs less than the
    hop to the thread pool), in the thread pool otherwise: a PostgreSQL round trip or a scan of
    the tenant's documents would hold the event loop, and every request behind it, meanwhile."""
    if short and ctx.engine.dialect.name == "sqlite":
        return fn()
    return await anyio.to_thread.run_sync(fn)


class AuthBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    specName: str = Field(min_length=1, max_length=256)  # noqa: N815 - Adobe's field name
    params: dict[str, Any]


class ConnectionCreate(BaseModel):
    """The body of ``POST /connections`` (Adobe's CreateConnectionRequest)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=512)
    description: str | None = Field(default=None, max_length=4096)
    auth: AuthBody | None = None
    connectionSpec: SpecRef  # noqa: N815 - Adobe's field name


@router.post("/connections", status_code=201)
def create_connection(body: ConnectionCreate, ctx: CtxDep, tenant: TenantDep) -> Response:
    conn_id, etag = service.create_connection(ctx, tenant, body.model_dump(exclude_none=True))
    return json_response(
        {"id": conn_id, "etag": etag},
        201,
        headers={"Location": f"{FLOW_SERVICE_PATH}/connections/{conn_id}"},
    )


@router.get("/connections")
async def list_connections(ctx: CtxDep, tenant: TenantDep, query: ListDep) -> Response:
    # Unfiltered pages are one keyset query; filtered ones (or a token's) scan the documents.
    short = not query.properties and not query.continuation_token
    result = await _read(ctx, lambda: service.list_connections(ctx, tenant, query), short=short)
    return list_response("connections", result)


@router.get("/connections/{conn_id}")
async def get_connection(conn_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    doc = await _read(ctx, lambda: service.get_connection(ctx, tenant, conn_id), short=True)
    return json_response({"items": [doc]})


def _patch(
    conn_id: str, ops: list[PatchOp], ctx: CtxDep, tenant: TenantDep, if_match: str | None
) -> Response:
    new_id, etag = service.patch_connection(
        ctx, tenant, conn_id, if_match=if_match, ops=patch_ops(ops)
    )
    return json_response({"id": new_id, "etag": etag})


@router.patch("/connections/{conn_id}")
def patch_connection(
    conn_id: str, ops: PatchBody, ctx: CtxDep, tenant: TenantDep, if_match: IfMatch = None
) -> Response:
    return _patch(conn_id, ops, ctx, tenant, if_match)


@router.patch("/connections/{conn_id}/", include_in_schema=False)
def patch_connection_slash(
    conn_id: str, ops: PatchBody, ctx: CtxDep, tenant: TenantDep, if_match: IfMatch = None
) -> Response:
    return _patch(conn_id, ops, ctx, tenant, if_match)


@router.delete("/connections/{conn_id}", status_code=204)
def delete_connection(conn_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    service.delete_connection(ctx, tenant, conn_id)
    return Response(status_code=204)


@router.delete("/connections/{conn_id}/", status_code=204, include_in_schema=False)
def delete_connection_slash(conn_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    service.delete_connection(ctx, tenant, conn_id)
    return Response(status_code=204)


@router.get("/connections/{conn_id}/test")
def test_connection(conn_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    """``{"result": true}``, or ``{"result": false, "error": {...}}`` with the reason."""
    return json_response(sources.test_connection(ctx, tenant, conn_id))


@router.get("/connections/{conn_id}/explore")
def explore(
    conn_id: str,
    ctx: CtxDep,
    tenant: TenantDep,
    objectType: Annotated[str | None, Query(description="root or table")] = None,  # noqa: N803
    object: Annotated[str | None, Query(description="Table, e.g. Hubspot.Contacts")] = None,  # noqa: A002
    preview: Annotated[str | None, Query(description="true adds sample rows")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="preview rows")] = 10,
) -> Response:
    """Root → a bare array of tables; table → ``{format, schema}``; preview adds ``data``."""
    result = sources.explore(
        ctx,
        tenant,
        conn_id,
        object_type=objectType,
        obj=object,
        preview=parse_bool(preview, name="preview"),
        limit=limit,
    )
    return json_response(result)
