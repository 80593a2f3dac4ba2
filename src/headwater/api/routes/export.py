"""The Data Access API subset at ``/data/foundation/export``: a batch's failed records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from headwater.api.deps import CtxDep, TenantDep
from headwater.api.responses import json_response
from headwater.services import batch_errors

router = APIRouter(tags=["Data Access"])


@router.get("/batches/{batch_id}/failed")
def failed(
    batch_id: str,
    request: Request,
    ctx: CtxDep,
    tenant: TenantDep,
    path: Annotated[str | None, Query(description="a failed file's name, to download it")] = None,
) -> Response:
    """The batch's failed files, or with ``path`` one file (JSON lines, one failed record each)."""
    if path is None:
        base = str(request.base_url)
        return json_response(batch_errors.failed_files(ctx, tenant, batch_id, base_url=base))
    body = batch_errors.failed_file(ctx, tenant, batch_id, path)
    return Response(body, media_type="application/x-ndjson")
