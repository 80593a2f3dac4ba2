"""Flow Service resources (connections, source/target connections, flows, runs, datasets).

Each row holds the resource's Adobe-shaped JSON document (without secrets), its etag, and the
encrypted secrets blob. Every query is scoped by (kind, org, sandbox).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.store.tables import resources

#: orderby fields backed by an integer column, so a page can be cut in SQL.
SQL_ORDER_COLUMNS = {"createdAt": resources.c.created_at, "updatedAt": resources.c.updated_at}


@dataclass(slots=True)
class StoredResource:
    kind: str
    id: str
    org_id: str
    sandbox_name: str
    doc: dict[str, Any]
    secrets: bytes | None
    etag: str
    created_at: int
    updated_at: int


def _row(r: Any) -> StoredResource:
    return StoredResource(
        kind=r.kind,
        id=r.id,
        org_id=r.org_id,
        sandbox_name=r.sandbox_name,
        doc=json.loads(r.doc),
        secrets=r.secrets,
        etag=r.etag,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def _scope(kind: str, org_id: str, sandbox_name: str) -> list[sa.ColumnElement[bool]]:
    return [
        resources.c.kind == kind,
        resources.c.org_id == org_id,
        resources.c.sandbox_name == sandbox_name,
    ]


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=False)


def insert_resource(conn: Connection, *, res: StoredResource) -> None:
    conn.execute(
        sa.insert(resources).values(
            kind=res.kind,
            id=res.id,
            org_id=res.org_id,
            sandbox_name=res.sandbox_name,
            name=res.doc.get("name"),
            doc=_dump(res.doc),
            secrets=res.secrets,
            etag=res.etag,
            created_at=res.created_at,
            updated_at=res.updated_at,
        )
    )


def read_resource(
    conn: Connection, *, kind: str, res_id: str, org_id: str, sandbox_name: str
) -> StoredResource | None:
    row = conn.execute(
        sa.select(resources).where(resources.c.id == res_id, *_scope(kind, org_id, sandbox_name))
    ).first()
    return _row(row) if row else None


def read_resources(
    conn: Connection, *, kind: str, org_id: str, sandbox_name: str
) -> list[StoredResource]:
    rows = conn.execute(
        sa.select(resources)
        .where(*_scope(kind, org_id, sandbox_name))
        .order_by(resources.c.created_at, resources.c.id)
    )
    return [_row(r) for r in rows]


def read_resource_page(
    conn: Connection,
    *,
    kind: str,
    org_id: str,
    sandbox_name: str,
    order_field: str,
    descending: bool,
    after: tuple[int, str] | None,
    limit: int,
) -> list[StoredResource]:
    """One page ordered by an integer column, cut after ``(value, id)``; ``limit + 1`` rows."""
    col = SQL_ORDER_COLUMNS[order_field]
    q = sa.select(resources).where(*_scope(kind, org_id, sandbox_name))
    if after is not None:
        value, last_id = after
        if descending:
            q = q.where(sa.or_(col < value, sa.and_(col == value, resources.c.id < last_id)))
        else:
            q = q.where(sa.or_(col > value, sa.and_(col == value, resources.c.id > last_id)))
    if descending:
        q = q.order_by(col.desc(), resources.c.id.desc())
    else:
        q = q.order_by(col, resources.c.id)
    rows = conn.execute(q.limit(limit + 1))
    return [_row(r) for r in rows]


def count_resources(conn: Connection, *, kind: str, org_id: str, sandbox_name: str) -> int:
    n = conn.execute(
        sa.select(sa.func.count()).select_from(resources).where(*_scope(kind, org_id, sandbox_name))
    ).scalar_one()
    return int(n)


def update_resource(conn: Connection, *, res: StoredResource, expected_etag: str) -> bool:
    """Compare-and-swap on the etag; False when someone else changed the resource first."""
    result = conn.execute(
        sa.update(resources)
        .where(
            resources.c.id == res.id,
            resources.c.etag == expected_etag,
            *_scope(res.kind, res.org_id, res.sandbox_name),
        )
        .values(
            name=res.doc.get("name"),
            doc=_dump(res.doc),
            secrets=res.secrets,
            etag=res.etag,
            updated_at=res.updated_at,
        )
    )
    return bool(result.rowcount)


def lock_resource(
    conn: Connection, *, kind: str, res_id: str, org_id: str, sandbox_name: str
) -> bool:
    """Take the resource's row lock for the rest of the transaction (a no-op write: a row lock
    on PostgreSQL, the write lock on SQLite); False when it does not exist. A create that needs
    the resource and a delete that checks its dependents both take it first, so they serialize."""
    result = conn.execute(
        sa.update(resources)
        .where(resources.c.id == res_id, *_scope(kind, org_id, sandbox_name))
        .values(etag=resources.c.etag)
    )
    return bool(result.rowcount)


def delete_resource(
    conn: Connection, *, kind: str, res_id: str, org_id: str, sandbox_name: str
) -> bool:
    result = conn.execute(
        sa.delete(resources).where(resources.c.id == res_id, *_scope(kind, org_id, sandbox_name))
    )
    return bool(result.rowcount)


def read_sealed_page(
    conn: Connection, *, kind: str, after_id: str, limit: int
) -> list[StoredResource]:
    """Resources of a kind that hold secrets, across tenants, by id after ``after_id``
    (secret-key rotation walks them in batches)."""
    rows = conn.execute(
        sa.select(resources)
        .where(
            resources.c.kind == kind, resources.c.id > after_id, resources.c.secrets.is_not(None)
        )
        .order_by(resources.c.id)
        .limit(limit)
    )
    return [_row(r) for r in rows]


def read_all_with_secrets(conn: Connection, *, kind: str) -> list[StoredResource]:
    """Every resource of a kind across tenants (secret-key rotation)."""
    rows = conn.execute(sa.select(resources).where(resources.c.kind == kind))
    return [_row(r) for r in rows]
