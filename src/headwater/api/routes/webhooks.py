"""Webhook subscriptions and their delivery log (``/webhooks``).

Adobe delivers flow-run notifications through Adobe I/O Events; Headwater has no I/O Events, so
it lets a client register webhooks directly, per org and sandbox, with the same payloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from headwater.api.deps import CtxDep, ListDep, TenantDep
from headwater.api.responses import json_response, list_envelope, list_response
from headwater.domain.paths import FLOW_SERVICE_PATH
from headwater.services import webhooks as service

router = APIRouter(tags=["Notifications"])


class WebhookCreate(BaseModel):
    """The body of ``POST /webhooks``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=512)
    description: str | None = Field(default=None, max_length=4096)
    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(min_length=1, max_length=len(service.EVENT_CODES))
    secret: str | None = Field(default=None, max_length=256)


@router.post("/webhooks", status_code=201)
def create_webhook(body: WebhookCreate, ctx: CtxDep, tenant: TenantDep) -> Response:
    """201 ``{id, etag}``, plus ``secret`` when Headwater generated it (shown only here)."""
    hook_id, etag, secret = service.create_webhook(ctx, tenant, body.model_dump())
    out = {"id": hook_id, "etag": etag}
    if secret is not None:
        out["secret"] = secret
    return json_response(out, 201, headers={"Location": f"{FLOW_SERVICE_PATH}/webhooks/{hook_id}"})


@router.get("/webhooks")
def list_webhooks(ctx: CtxDep, tenant: TenantDep, query: ListDep) -> Response:
    return list_response("webhooks", service.list_webhooks(ctx, tenant, query))


@router.get("/webhooks/{webhook_id}")
def get_webhook(webhook_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    return json_response({"items": [service.get_webhook(ctx, tenant, webhook_id)]})


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, ctx: CtxDep, tenant: TenantDep) -> Response:
    service.delete_webhook(ctx, tenant, webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: str,
    ctx: CtxDep,
    tenant: TenantDep,
    limit: Annotated[str | None, Query(description="Page size (1-1000, default 100)")] = None,
    status: Annotated[
        str | None, Query(description="pending, retrying, succeeded, failed or cancelled")
    ] = None,
    continuationToken: Annotated[  # noqa: N803 - Adobe's parameter name
        str | None, Query(description="Token from _links.next.href")
    ] = None,
) -> Response:
    """Newest first: event id and type, status, attempt count, last response code and error,
    timestamps, and every attempt."""
    items, token = service.list_deliveries(
        ctx, tenant, webhook_id, limit=limit, status=status, continuation_token=continuationToken
    )
    return json_response(list_envelope(f"webhooks/{webhook_id}/deliveries", items, token))
