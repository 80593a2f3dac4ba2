"""Orgs, sandboxes, API clients and access tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from headwater.domain.ids import new_id
from headwater.store.tables import access_tokens, api_clients, orgs, sandboxes


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Sandbox:
    id: str
    org_id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ApiClient:
    client_id: str
    org_id: str
    name: str
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    client_id: str
    org_id: str
    scope: str
    expires_at: int
    revoked_at: int | None


def hash_secret(secret: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    salt = base64.b64decode(salt_b64)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_org(conn: Connection, *, org_id: str, name: str, now: int) -> Org:
    conn.execute(sa.insert(orgs).values(id=org_id, name=name, created_at=now))
    create_sandbox(conn, org_id=org_id, name="prod", now=now)
    return Org(org_id, name, now)


def read_org(conn: Connection, *, org_id: str) -> Org | None:
    row = conn.execute(sa.select(orgs).where(orgs.c.id == org_id)).first()
    return Org(row.id, row.name, row.created_at) if row else None


def read_orgs(conn: Connection) -> list[Org]:
    rows = conn.execute(sa.select(orgs).order_by(orgs.c.created_at, orgs.c.id))
    return [Org(r.id, r.name, r.created_at) for r in rows]


def create_sandbox(conn: Connection, *, org_id: str, name: str, now: int) -> Sandbox:
    sid = new_id()
    conn.execute(sa.insert(sandboxes).values(id=sid, org_id=org_id, name=name, created_at=now))
    return Sandbox(sid, org_id, name, now)


def read_sandbox(conn: Connection, *, org_id: str, name: str) -> Sandbox | None:
    row = conn.execute(
        sa.select(sandboxes).where(sandboxes.c.org_id == org_id, sandboxes.c.name == name)
    ).first()
    return Sandbox(row.id, row.org_id, row.name, row.created_at) if row else None


def read_sandboxes(conn: Connection, *, org_id: str) -> list[Sandbox]:
    rows = conn.execute(
        sa.select(sandboxes).where(sandboxes.c.org_id == org_id).order_by(sandboxes.c.name)
    )
    return [Sandbox(r.id, r.org_id, r.name, r.created_at) for r in rows]


def create_api_client(
    conn: Connection, *, org_id: str, name: str, now: int
) -> tuple[ApiClient, str]:
    """A new client; returns it and its secret, which is stored only as a hash."""
    client_id = secrets.token_hex(16)
    secret = "hw-" + secrets.token_urlsafe(32)
    conn.execute(
        sa.insert(api_clients).values(
            client_id=client_id,
            org_id=org_id,
            name=name,
            secret_hash=hash_secret(secret),
            created_at=now,
            revoked_at=None,
        )
    )
    return ApiClient(client_id, org_id, name, now, None), secret


def read_api_client(conn: Connection, *, client_id: str) -> ApiClient | None:
    row = conn.execute(sa.select(api_clients).where(api_clients.c.client_id == client_id)).first()
    if row is None:
        return None
    return ApiClient(row.client_id, row.org_id, row.name, row.created_at, row.revoked_at)


def read_api_clients(conn: Connection, *, org_id: str) -> list[ApiClient]:
    rows = conn.execute(
        sa.select(api_clients)
        .where(api_clients.c.org_id == org_id)
        .order_by(api_clients.c.created_at)
    )
    return [ApiClient(r.client_id, r.org_id, r.name, r.created_at, r.revoked_at) for r in rows]


def check_client_secret(conn: Connection, *, client_id: str, secret: str) -> ApiClient | None:
    row = conn.execute(sa.select(api_clients).where(api_clients.c.client_id == client_id)).first()
    if row is None or row.revoked_at is not None or not verify_secret(secret, row.secret_hash):
        return None
    return ApiClient(row.client_id, row.org_id, row.name, row.created_at, row.revoked_at)


def create_access_token(
    conn: Connection, *, client: ApiClient, scope: str, now: int, ttl_ms: int
) -> tuple[str, int]:
    token = "hwat-" + secrets.token_urlsafe(40)
    expires_at = now + ttl_ms
    conn.execute(
        sa.insert(access_tokens).values(
            token_hash=hash_token(token),
            client_id=client.client_id,
            org_id=client.org_id,
            scope=scope,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
    )
    return token, expires_at


def read_access_token(conn: Connection, *, token: str) -> TokenInfo | None:
    row = conn.execute(
        sa.select(access_tokens).where(access_tokens.c.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    return TokenInfo(row.client_id, row.org_id, row.scope, row.expires_at, row.revoked_at)


def revoke_access_token(conn: Connection, *, token: str, now: int) -> bool:
    res = conn.execute(
        sa.update(access_tokens)
        .where(
            access_tokens.c.token_hash == hash_token(token), access_tokens.c.revoked_at.is_(None)
        )
        .values(revoked_at=now)
    )
    return bool(res.rowcount)


def revoke_api_client(conn: Connection, *, client_id: str, now: int) -> bool:
    res = conn.execute(
        sa.update(api_clients)
        .where(api_clients.c.client_id == client_id, api_clients.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    conn.execute(
        sa.update(access_tokens)
        .where(access_tokens.c.client_id == client_id, access_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(res.rowcount)
