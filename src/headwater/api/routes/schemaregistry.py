"""A Schema Registry subset at ``/data/foundation/schemaregistry`` (see ``services/schemas.py``).

``{ref}`` is a resource's URL-encoded ``$id`` or its ``meta:altId``; responses depend on the
``Accept`` header as Adobe documents (``application/vnd.adobe.xed-id+json`` for lists,
``application/vnd.adobe.xed-full+json; version=1`` for a resolved lookup, ...).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from starlette.responses import Response

from headwater.api.deps import CtxDep, TenantDep
from headwater.api.responses import json_response
from headwater.services import schema_writes, schemas

router = APIRouter(tags=["Schema Registry"])
AcceptDep = Annotated[str | None, Header(alias="Accept")]
JsonBody = Annotated[Any, Body()]
_TENANT_KINDS = ("schemas", "fieldgroups")
_GLOBAL_KINDS = ("classes", "fieldgroups")


def _query(request: Request) -> dict[str, Any]:
    qp = request.query_params
    return {
        "property": qp.getlist("property"),
        "orderby": qp.get("orderby") or qp.get("orderBy"),
        "limit": qp.get("limit"),
        "start": qp.get("start"),
    }


@router.get("/stats")
def stats(ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response(schema_writes.stats(ctx, tenant))


def _register_global(kind: str) -> None:
    @router.get(f"/global/{kind}", name=f"list_global_{kind}")
    @router.get(f"/global/{kind}/", include_in_schema=False, name=f"list_global_{kind}_slash")
    def list_(
        request: Request, ctx: CtxDep, tenant: TenantDep, accept: AcceptDep = None
    ) -> Response:
        return json_response(schemas.list_global(ctx, tenant, kind, accept, _query(request)))

    @router.get(f"/global/{kind}/{{ref:path}}", name=f"get_global_{kind}")
    def get(ref: str, ctx: CtxDep, tenant: TenantDep, accept: AcceptDep = None) -> Response:
        return json_response(schemas.get_global(ctx, tenant, kind, ref, accept))


def _register_tenant(kind: str) -> None:
    @router.get(f"/tenant/{kind}", name=f"list_tenant_{kind}")
    @router.get(f"/tenant/{kind}/", include_in_schema=False, name=f"list_tenant_{kind}_slash")
    def list_(
        request: Request, ctx: CtxDep, tenant: TenantDep, accept: AcceptDep = None
    ) -> Response:
        return json_response(schemas.list_tenant(ctx, tenant, kind, accept, _query(request)))

    @router.post(f"/tenant/{kind}", status_code=201, name=f"create_{kind}")
    @router.post(f"/tenant/{kind}/", include_in_schema=False, name=f"create_{kind}_slash")
    def create(body: JsonBody, ctx: CtxDep, tenant: TenantDep) -> Response:
        return json_response(schema_writes.create(ctx, tenant, kind, body), 201)

    @router.get(f"/tenant/{kind}/{{ref:path}}", name=f"get_{kind}")
    def get(ref: str, ctx: CtxDep, tenant: TenantDep, accept: AcceptDep = None) -> Response:
        return json_response(schemas.get_tenant(ctx, tenant, kind, ref, accept))

    @router.put(f"/tenant/{kind}/{{ref:path}}", name=f"put_{kind}")
    def put(ref: str, body: JsonBody, ctx: CtxDep, tenant: TenantDep) -> Response:
        return json_response(schema_writes.put(ctx, tenant, kind, ref, body))

    @router.patch(f"/tenant/{kind}/{{ref:path}}", name=f"patch_{kind}")
    def patch(ref: str, body: JsonBody, ctx: CtxDep, tenant: TenantDep) -> Response:
        return json_response(schema_writes.patch(ctx, tenant, kind, ref, body))

    @router.delete(f"/tenant/{kind}/{{ref:path}}", status_code=204, name=f"delete_{kind}")
    def delete(ref: str, ctx: CtxDep, tenant: TenantDep) -> Response:
        schema_writes.delete(ctx, tenant, kind, ref)
        return Response(status_code=204)


for _kind in _GLOBAL_KINDS:
    _register_global(_kind)
for _kind in _TENANT_KINDS:
    _register_tenant(_kind)
