"""Source connections, target connections, flows and runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from headwater.api.deps import CtxDep, ListDep, TenantDep
from headwater.api.models import IfMatch, PatchBody, SpecRef, patch_ops
from headwater.api.responses import json_response, list_response
from headwater.domain.paths import FLOW_SERVICE_PATH
from headwater.services import dataflow_connections as conns
from headwater.services import flows, runs

router = APIRouter()


class SourceConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=512)
    description: str | None = Field(default=None, max_length=4096)
    baseConnectionId: str = Field(min_length=1, max_length=64)  # noqa: N815
    data: dict[str, Any] | None = None
    params: dict[str, Any]
    connectionSpec: SpecRef  # noqa: N815


class TargetConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=512)
    description: str | None = Field(default=None, max_length=4096)
    baseConnectionId: str | None = Field(default=None, max_length=64)  # noqa: N815
    data: dict[str, Any] | None = None
    params: dict[str, Any]
    connectionSpec: SpecRef  # noqa: N815


class FlowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=512)
    description: str | None = Field(default=None, max_length=4096)
    flowSpec: SpecRef  # noqa: N815
    sourceConnectionIds: list[str]  # noqa: N815
    targetConnectionIds: list[str]  # noqa: N815
    transformations: list[dict[str, Any]] | None = None
    scheduleParams: dict[str, Any] | None = None  # noqa: N815
    state: str | None = None
    labels: list[str] | None = None
    options: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flowId: str = Field(min_length=1, max_length=64)  # noqa: N815
    status: str | None = None
    params: dict[str, Any] | None = None


def _created(collection: str, res_id: str, etag: str) -> Response:
    return json_response(
        {"id": res_id, "etag": etag},
        201,
        headers={"Location": f"{FLOW_SERVICE_PATH}/{collection}/{res_id}"},
    )


# ---------------------------------------------------------------- source / target connections


@router.post("/sourceConnections", status_code=201, tags=["Source connections"])
def create_source(body: SourceConnectionCreate, ctx: CtxDep, tenant: TenantDep) -> Response:
    return _created(
        conns.SOURCE, *conns.create_source(ctx, tenant, body.model_dump(exclude_none=True))
    )


@router.post("/targetConnections", status_code=201, tags=["Target connections"])
def create_target(body: TargetConnectionCreate, ctx: CtxDep, tenant: TenantDep) -> Response:
    return _created(
        conns.TARGET, *conns.create_target(ctx, tenant, body.model_dump(exclude_none=True))
    )


def _register_connection_routes(kind: str, tag: str) -> None:
    @router.get(f"/{kind}", tags=[tag], name=f"list_{kind}")
    def list_(ctx: CtxDep, tenant: TenantDep, query: ListDep) -> Response:
        return list_response(kind, conns.list_(ctx, tenant, kind, query))

    @router.get(f"/{kind}/{{res_id}}", tags=[tag], name=f"get_{kind}")
    def get(res_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
        return json_response({"items": [conns.get(ctx, tenant, kind, res_id)]})

    @router.patch(f"/{kind}/{{res_id}}", tags=[tag], name=f"patch_{kind}")
    def patch(
        res_id: str, ops: PatchBody, ctx: CtxDep, tenant: TenantDep, if_match: IfMatch = None
    ) -> Response:
        rid, etag = conns.patch(ctx, tenant, kind, res_id, if_match=if_match, ops=patch_ops(ops))
        return json_response({"id": rid, "etag": etag})

    @router.delete(f"/{kind}/{{res_id}}", status_code=204, tags=[tag], name=f"delete_{kind}")
    def delete(res_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
        conns.delete(ctx, tenant, kind, res_id)
        return Response(status_code=204)


_register_connection_routes(conns.SOURCE, "Source connections")
_register_connection_routes(conns.TARGET, "Target connections")


# ---------------------------------------------------------------- flows


@router.post("/flows", status_code=201, tags=["Flows"])
def create_flow(body: FlowCreate, ctx: CtxDep, tenant: TenantDep) -> Response:
    return _created("flows", *flows.create_flow(ctx, tenant, body.model_dump(exclude_none=True)))


@router.get("/flows", tags=["Flows"])
def list_flows(ctx: CtxDep, tenant: TenantDep, query: ListDep) -> Response:
    return list_response("flows", flows.list_flows(ctx, tenant, query))


@router.post("/flows/search", tags=["Flows"])
def search_flows(
    body: dict[str, Any],
    ctx: CtxDep,
    tenant: TenantDep,
    continuationToken: Annotated[str | None, Query()] = None,  # noqa: N803 - Adobe's name
) -> Response:
    result = flows.search_flows(ctx, tenant, body, continuation_token=continuationToken)
    return list_response("flows", result)


@router.get("/flows/{flow_id}", tags=["Flows"])
def get_flow(flow_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response({"items": [flows.get_flow(ctx, tenant, flow_id)]})


@router.patch("/flows/{flow_id}", tags=["Flows"])
def patch_flow(
    flow_id: str, ops: PatchBody, ctx: CtxDep, tenant: TenantDep, if_match: IfMatch = None
) -> Response:
    fid, etag = flows.patch_flow(ctx, tenant, flow_id, if_match=if_match, ops=patch_ops(ops))
    return json_response({"id": fid, "etag": etag})


@router.delete("/flows/{flow_id}", status_code=204, tags=["Flows"])
def delete_flow(flow_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    flows.delete_flow(ctx, tenant, flow_id)
    return Response(status_code=204)


@router.post("/flows/{flow_id}/action", tags=["Flows"])
def flow_action(
    flow_id: str,
    ctx: CtxDep,
    tenant: TenantDep,
    op: Annotated[str | None, Query(description="enable, disable, or run (run now)")] = None,
) -> Response:
    fid, etag = flows.act(ctx, tenant, flow_id, op)
    return json_response({"id": fid, "etag": etag})


# ---------------------------------------------------------------- runs


@router.get("/runs", tags=["Runs"])
def list_runs(ctx: CtxDep, tenant: TenantDep, query: ListDep) -> Response:
    return list_response("runs", runs.list_runs(ctx, tenant, query))


@router.get("/runs/{run_id}", tags=["Runs"])
def get_run(run_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response({"items": [runs.get_run(ctx, tenant, run_id)]})


@router.post("/runs", status_code=201, tags=["Runs"])
def create_run(body: RunCreate, ctx: CtxDep, tenant: TenantDep) -> Response:
    run = runs.create_adhoc_run(ctx, tenant, body.model_dump(exclude_none=True))
    return json_response(run, 201, headers={"Location": f"{FLOW_SERVICE_PATH}/runs/{run['id']}"})


@router.post("/runs/{run_id}/action", tags=["Runs"])
def run_action(
    run_id: str,
    ctx: CtxDep,
    tenant: TenantDep,
    op: Annotated[str | None, Query(description="RE_TRIGGER: run a failed run again")] = None,
) -> Response:
    return json_response(runs.act(ctx, tenant, run_id, op))
