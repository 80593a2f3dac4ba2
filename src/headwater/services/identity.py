"""Orgs, sandboxes, API clients, IMS-style tokens, and the gateway's request checks."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from headwater.errors import (
    ImsError,
    InvalidApiKeyError,
    InvalidRequestError,
    InvalidTokenError,
    MissingApiKeyError,
    MissingOrgError,
    MissingTokenError,
    NotFoundError,
    OrgMismatchError,
    SandboxNotFoundError,
    TooManyAttemptsError,
)
from headwater.services.context import ServiceContext, Tenant
from headwater.store import identity as store
from headwater.store.identity import ApiClient, Org, Sandbox

ORG_ID = re.compile(r"^[A-Za-z0-9]{1,64}@AdobeOrg$")
SANDBOX_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

#: How long a validated token, API key or sandbox stays cached in this process. Revocations made
#: through this process take effect at once; those made by another process within this delay.
CACHE_SECONDS = 5.0
_MISS = object()


def create_org(ctx: ServiceContext, *, org_id: str, name: str | None = None) -> Org:
    if not ORG_ID.match(org_id):
        raise InvalidRequestError(f"org id '{org_id}' must look like XXXX@AdobeOrg")
    try:
        with ctx.engine.begin() as conn:
            return store.create_org(conn, org_id=org_id, name=name or org_id, now=ctx.clock())
    except IntegrityError as exc:
        raise InvalidRequestError(f"org {org_id} already exists") from exc


def ensure_org(ctx: ServiceContext, *, org_id: str) -> Org:
    with ctx.engine.connect() as conn:
        org = store.read_org(conn, org_id=org_id)
    return org or create_org(ctx, org_id=org_id)


def list_orgs(ctx: ServiceContext) -> list[Org]:
    with ctx.engine.connect() as conn:
        return store.read_orgs(conn)


def create_sandbox(ctx: ServiceContext, *, org_id: str, name: str) -> Sandbox:
    if not SANDBOX_NAME.match(name):
        raise InvalidRequestError(
            f"sandbox name '{name}' must be lower-case letters, digits and dashes"
        )
    with ctx.engine.begin() as conn:
        if store.read_org(conn, org_id=org_id) is None:
            raise NotFoundError(f"org {org_id} does not exist")
        if store.read_sandbox(conn, org_id=org_id, name=name) is not None:
            raise InvalidRequestError(f"sandbox {name} already exists in {org_id}")
        return store.create_sandbox(conn, org_id=org_id, name=name, now=ctx.clock())


def list_sandboxes(ctx: ServiceContext, *, org_id: str) -> list[Sandbox]:
    with ctx.engine.connect() as conn:
        return store.read_sandboxes(conn, org_id=org_id)


def create_client(ctx: ServiceContext, *, org_id: str, name: str) -> tuple[ApiClient, str]:
    with ctx.engine.begin() as conn:
        if store.read_org(conn, org_id=org_id) is None:
            raise NotFoundError(f"org {org_id} does not exist")
        return store.create_api_client(conn, org_id=org_id, name=name, now=ctx.clock())


def list_clients(ctx: ServiceContext, *, org_id: str) -> list[ApiClient]:
    with ctx.engine.connect() as conn:
        return store.read_api_clients(conn, org_id=org_id)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in_seconds: int
    client: ApiClient


def issue_token(
    ctx: ServiceContext,
    *,
    grant_type: str | None,
    client_id: str | None,
    client_secret: str | None,
    scope: str | None,
) -> IssuedToken:
    """IMS ``client_credentials`` grant."""
    if grant_type != "client_credentials":
        raise ImsError("unsupported_grant_type", "grant_type must be client_credentials")
    if not client_id:
        raise ImsError("invalid_request", "missing client_id parameter")
    if not client_secret:
        raise ImsError("invalid_request", "missing client_secret parameter")
    now = ctx.clock()
    wait_ms = ctx.attempts.retry_after_ms(client_id, now)
    if wait_ms:
        raise TooManyAttemptsError(-(-wait_ms // 1000))
    with ctx.engine.begin() as conn:
        client = store.check_client_secret(conn, client_id=client_id, secret=client_secret)
        if client is None:
            ctx.attempts.failed(client_id, now)
            raise ImsError("invalid_client", "invalid client_id or client_secret", http_status=401)
        token, _ = store.create_access_token(
            conn, client=client, scope=scope or "", now=now, ttl_ms=ctx.token_ttl_ms
        )
    return IssuedToken(token, ctx.token_ttl_ms // 1000, client)


class Gateway:
    """Checks every Flow Service request the way Adobe's gateway does, with a short cache."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._tokens: dict[Any, tuple[float, Any]] = {}
        self._clients: dict[Any, tuple[float, Any]] = {}
        self._sandboxes: dict[Any, tuple[float, Any]] = {}

    def _lookup(
        self,
        cache: dict[Any, tuple[float, Any]],
        key: Any,
        loader: Callable[[], Any],
        *,
        allow_db: bool,
        keep_missing: bool,
    ) -> Any:
        now = time.monotonic()
        hit = cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        if not allow_db:
            return _MISS
        value = loader()
        if value is not None or keep_missing:
            with self._lock:
                if len(cache) > 10_000:
                    cache.clear()
                cache[key] = (now + CACHE_SECONDS, value)
        return value

    def _token(self, token: str, *, allow_db: bool) -> Any:
        def load() -> store.TokenInfo | None:
            with self._ctx.engine.connect() as conn:
                return store.read_access_token(conn, token=token)

        return self._lookup(self._tokens, token, load, allow_db=allow_db, keep_missing=False)

    def _client(self, client_id: str, *, allow_db: bool) -> Any:
        def load() -> ApiClient | None:
            with self._ctx.engine.connect() as conn:
                return store.read_api_client(conn, client_id=client_id)

        return self._lookup(self._clients, client_id, load, allow_db=allow_db, keep_missing=True)

    def _sandbox(self, org_id: str, name: str, *, allow_db: bool) -> Any:
        def load() -> Sandbox | None:
            with self._ctx.engine.connect() as conn:
                return store.read_sandbox(conn, org_id=org_id, name=name)

        return self._lookup(
            self._sandboxes, (org_id, name), load, allow_db=allow_db, keep_missing=False
        )

    def forget(self) -> None:
        """Drop the cache (after a revocation or a new sandbox in this process)."""
        with self._lock:
            self._tokens.clear()
            self._clients.clear()
            self._sandboxes.clear()

    def authenticate(
        self,
        *,
        authorization: str | None,
        api_key: str | None,
        org_id: str | None,
        sandbox_name: str | None,
    ) -> Tenant:
        tenant = self._check(
            authorization=authorization,
            api_key=api_key,
            org_id=org_id,
            sandbox_name=sandbox_name,
            allow_db=True,
        )
        assert tenant is not None
        return tenant

    def cached_authenticate(
        self,
        *,
        authorization: str | None,
        api_key: str | None,
        org_id: str | None,
        sandbox_name: str | None,
    ) -> Tenant | None:
        """Like :meth:`authenticate` without touching the database: None when something is not
        cached yet (the caller then runs :meth:`authenticate` off the event loop)."""
        return self._check(
            authorization=authorization,
            api_key=api_key,
            org_id=org_id,
            sandbox_name=sandbox_name,
            allow_db=False,
        )

    def _check(
        self,
        *,
        authorization: str | None,
        api_key: str | None,
        org_id: str | None,
        sandbox_name: str | None,
        allow_db: bool,
    ) -> Tenant | None:
        if not authorization or not authorization.strip():
            raise MissingTokenError
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidTokenError
        info = self._token(token, allow_db=allow_db)
        if info is _MISS:
            return None
        if info is None or info.revoked_at is not None or info.expires_at <= self._ctx.clock():
            raise InvalidTokenError
        if not api_key:
            raise MissingApiKeyError
        client = self._client(api_key, allow_db=allow_db)
        if client is _MISS:
            return None
        if client is None or client.revoked_at is not None or client.client_id != info.client_id:
            # Adobe's gateway ties a token to the API key it was issued to
            raise InvalidApiKeyError
        if not org_id:
            raise MissingOrgError
        if org_id != info.org_id or client.org_id != org_id:
            raise OrgMismatchError
        name = (sandbox_name or "prod").strip() or "prod"
        sandbox = self._sandbox(org_id, name, allow_db=allow_db)
        if sandbox is _MISS:
            return None
        if sandbox is None:
            raise SandboxNotFoundError(f"sandbox '{name}' does not exist in org {org_id}")
        return Tenant(
            org_id=org_id, sandbox_name=name, sandbox_id=sandbox.id, client_id=info.client_id
        )

    def revoke_token(self, token: str) -> bool:
        with self._ctx.engine.begin() as conn:
            done = store.revoke_access_token(conn, token=token, now=self._ctx.clock())
        self.forget()
        return done
