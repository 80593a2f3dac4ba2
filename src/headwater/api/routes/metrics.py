"""``/metrics``: Prometheus text format; no credentials needed (bind the port privately)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from headwater.api.deps import CtxDep
from headwater.services import metrics

router = APIRouter(tags=["Health"])


@router.get("/metrics")
def scrape(request: Request, ctx: CtxDep) -> Response:
    """Run, record and HubSpot counters of every process, and this process's request latency."""
    http = getattr(request.app.state, "http_metrics", None)
    body = metrics.render_metrics(ctx, http)
    return Response(content=body.encode(), media_type=metrics.CONTENT_TYPE)
