"""``/metrics``: Prometheus text format; no credentials needed (bind the port privately)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from headwater.api.deps import CtxDep
from headwater.services import metrics as service

router = APIRouter(tags=["Health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The metrics, in Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request, ctx: CtxDep) -> Response:
    """Prometheus text format; no credentials needed (bind the port privately)."""
    http = getattr(request.app.state, "http_metrics", None)
    body = service.render_metrics(ctx, http)
    return Response(content=body.encode(), media_type=service.CONTENT_TYPE)
