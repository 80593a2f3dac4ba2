"""Readiness: does every store the service needs answer?"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from headwater.services.context import ServiceContext
from headwater.store.db import ping


@dataclass(frozen=True, slots=True)
class Readiness:
    """``checks`` maps each dependency to ``"ok"`` or ``"error: <ExceptionType>"``."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(v == "ok" for v in self.checks.values())


def readiness(ctx: ServiceContext) -> Readiness:
    """Check the database and, when configured, the lake (listing its staging area proves the
    object store answers)."""
    checks: dict[str, str] = {}
    try:
        ping(ctx.engine)
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    if ctx.lake is not None:
        try:
            ctx.lake.staged_runs()
            checks["lake"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any storage failure means "not ready"
            checks["lake"] = f"error: {type(exc).__name__}"
    return Readiness(checks)
