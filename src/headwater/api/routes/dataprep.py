"""Data Prep at ``/data/foundation/conversion`` (see ``services/mappings.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from headwater.api.deps import CtxDep, TenantDep
from headwater.api.responses import json_response
from headwater.services import mappings
from headwater.services.listing import parse_bool

router = APIRouter(tags=["Data Prep"])
JsonBody = Annotated[Any, Body()]
BoolQ = Annotated[str | None, Query()]


@router.get("/languages/el/functions")
def functions(_tenant: TenantDep) -> Response:
    return json_response(mappings.functions_listing())


@router.get("/languages/el/operators")
def operators(_tenant: TenantDep) -> Response:
    return json_response(mappings.operators_listing())


@router.post("/languages/el/validate")
def validate_expression(body: JsonBody, _tenant: TenantDep) -> Response:
    return json_response(mappings.validate_expression(body))


@router.get("/mappingSets")
def list_sets(
    ctx: CtxDep,
    tenant: TenantDep,
    limit: Annotated[int, Query()] = 10,
    start: Annotated[int, Query()] = 0,
    name: Annotated[str | None, Query()] = None,
    orderBy: Annotated[str | None, Query()] = None,  # noqa: N803 - Adobe's parameter name
    expandSchema: BoolQ = None,  # noqa: N803
) -> Response:
    expand = parse_bool(expandSchema, name="expandSchema")
    return json_response(
        mappings.list_sets(
            ctx, tenant, limit=limit, start=start, name=name, order_by=orderBy, expand=expand
        )
    )


@router.post("/mappingSets")
def create_set(body: JsonBody, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response(mappings.create(ctx, tenant, body))


@router.post("/mappingSets/validate")
def validate_set(body: JsonBody, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response(mappings.validate(ctx, tenant, body))


@router.post("/mappingSets/preview")
def preview_set(body: JsonBody, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response(mappings.preview(ctx, tenant, body))


@router.get("/mappingSets/{ms_id}")
def get_set(
    ms_id: str,
    ctx: CtxDep,
    tenant: TenantDep,
    version: Annotated[int | None, Query()] = None,
    expandSchema: BoolQ = None,  # noqa: N803
) -> Response:
    expand = parse_bool(expandSchema, name="expandSchema")
    return json_response(mappings.get(ctx, tenant, ms_id, version=version, expand=expand))


@router.put("/mappingSets/{ms_id}")
def put_set(ms_id: str, body: JsonBody, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response(mappings.replace(ctx, tenant, ms_id, body))


@router.delete("/mappingSets/{ms_id}", status_code=204)
def delete_set(ms_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    mappings.delete(ctx, tenant, ms_id)
    return Response(status_code=204)


@router.get("/mappingSets/{ms_id}/mappings")
def list_mappings(ms_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response(mappings.mappings_of(ctx, tenant, ms_id))


@router.get("/mappingSets/{ms_id}/mappings/{mapping_id}")
def get_mapping(ms_id: str, mapping_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response(mappings.mapping_of(ctx, tenant, ms_id, mapping_id))
