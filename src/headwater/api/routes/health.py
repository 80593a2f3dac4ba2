"""Liveness and readiness."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.responses import Response

from headwater.api.responses import json_response

router = APIRouter(tags=["Health"])


@router.get("/health/live")
def live() -> Response:
    return json_response({"status": "ok"})


@router.get("/health/ready")
def ready(request: Request) -> Response:
    checks: dict[str, str] = {}
    try:
        with request.app.state.ctx.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    lake = request.app.state.ctx.lake
    if lake is not None:
        try:
            lake.staged_runs()  # lists the staging area: proves the store answers
            checks["lake"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any storage failure means "not ready"
            checks["lake"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return json_response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
    )
