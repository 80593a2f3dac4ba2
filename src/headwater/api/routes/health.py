"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from headwater.api.deps import CtxDep
from headwater.api.responses import json_response
from headwater.services import health

router = APIRouter(tags=["Health"])


@router.get("/health/live")
def live() -> Response:
    return json_response({"status": "ok"})


@router.get("/health/ready")
def ready(ctx: CtxDep) -> Response:
    report = health.readiness(ctx)
    body = {"status": "ok" if report.ok else "unavailable", "checks": report.checks}
    return json_response(body, 200 if report.ok else 503)
