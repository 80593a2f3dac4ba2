"""What the scheduler reads each tick: the enabled flows of every tenant.

The ``state`` is read inside the stored JSON by the database (``json_extract`` on SQLite, ``->>``
on PostgreSQL), so a tick parses only the documents of enabled flows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from headwater.store.tables import resources

FLOWS = "flows"


@dataclass(frozen=True, slots=True)
class EnabledFlow:
    org_id: str
    sandbox_name: str
    doc: dict[str, Any]


def _state(conn: Connection) -> sa.ColumnElement[Any]:
    """The top-level ``state`` of the stored document, as text."""
    if conn.dialect.name == "postgresql":
        state: sa.ColumnElement[Any] = sa.cast(resources.c.doc, postgresql.JSONB)["state"].astext
        return state
    return sa.func.json_extract(resources.c.doc, "$.state")


def read_enabled_flows(conn: Connection) -> list[EnabledFlow]:
    """Every enabled flow of every org and sandbox, oldest first."""
    rows = conn.execute(
        sa.select(resources.c.org_id, resources.c.sandbox_name, resources.c.doc)
        .where(resources.c.kind == FLOWS, _state(conn) == "enabled")
        .order_by(resources.c.created_at, resources.c.id)
    )
    return [EnabledFlow(r.org_id, r.sandbox_name, json.loads(r.doc)) for r in rows]
