"""The bridge from base connections to source connectors (found in the connector registry by
connection spec): connection tests and explore."""

from __future__ import annotations

import copy
from typing import Any, Literal, overload

from headwater.connectors import registry
from headwater.connectors.base import (
    ConnectorType,
    Credentials,
    JsonObject,
    OAuthEndpoints,
    OAuthFlow,
    SourceConnector,
)
from headwater.errors import InvalidRequestError, MissingScopeError, SourceAuthError, SyncError
from headwater.services import connections
from headwater.services.context import ServiceContext, Tenant

#: Adobe's explore object types of a tabular source: the table listing and one table.
OBJECT_TYPES = frozenset({"root", "table"})
SOURCES = " or ".join(t.title for t in registry.TYPES)


def _type_of(doc: dict[str, Any], conn_id: str) -> ConnectorType:
    spec_id = doc["connectionSpec"]["id"]
    connector_type = registry.connector_type(spec_id)
    if connector_type is None:
        raise InvalidRequestError(
            f"connection {conn_id} uses connection spec {spec_id}, "
            "which has nothing to explore or test"
        )
    return connector_type


def open_connector(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> SourceConnector:
    """The source connector of a base connection, found in the registry by its connection spec;
    credentials the connector rotates are stored back, encrypted, and what it learns about them
    (a static token's portal id) is kept with the connection for the next one."""
    doc, params = connections.read_credentials(ctx, tenant, conn_id)
    connector_type = _type_of(doc, conn_id)
    auth_params = {k: v if isinstance(v, str) else str(v) for k, v in params.items()}
    if doc.get("_tokenExpiresAt"):
        auth_params["expiresAt"] = str(doc["_tokenExpiresAt"])

    def persist(tokens: dict[str, str]) -> None:
        connections.store_refreshed_params(ctx, tenant, conn_id, tokens)

    def keep(facts: dict[str, str]) -> None:
        connections.store_learned(ctx, tenant, conn_id, facts)

    learned = doc.get("_learned")
    credentials = Credentials(
        auth_spec_name=doc["auth"]["specName"],
        params=auth_params,
        on_refreshed=persist,
        learned={str(k): str(v) for k, v in learned.items()} if isinstance(learned, dict) else {},
        on_learned=keep,
    )
    return connector_type.open(credentials, ctx.connector_settings)


def source_title(spec_id: str) -> str | None:
    """The source's name in messages (``ConnectorType.title``), ``None`` for no source."""
    found = registry.connector_type(spec_id)
    return found.title if found is not None else None


def spec_id_named(name: str) -> str | None:
    """The connection-spec id of the connector called ``name`` (``ConnectorType.name``)."""
    found = registry.connector_named(name)
    return found.spec_id if found is not None else None


def oauth_flow(spec_id: str, auth_spec_name: str) -> OAuthFlow | None:
    """The OAuth sign-in the source offers for that auth spec (the web UI runs it)."""
    return registry.oauth_flow(spec_id, auth_spec_name)


def oauth_endpoints(ctx: ServiceContext, flow: OAuthFlow) -> OAuthEndpoints:
    """Where the sign-in goes, from the connector's settings (its base URL)."""
    return flow.endpoints(ctx.connector_settings)


def sync_error_body(exc: SyncError, request_id: str = "") -> dict[str, Any]:
    """A connector failure in Adobe's error envelope (``type`` carries the run error code)."""
    code = exc.run_code
    status = int(code.rsplit("-", 1)[-1]) if code[-3:].isdigit() else 400
    return {
        "type": f"https://ns.adobe.com/aep/errors/{code}",
        "title": _error_title(exc),
        "status": status,
        "report": {"detailed-message": exc.message, "request-id": request_id},
        "errorMessage": exc.message,
        "errorDetails": exc.message,
    }


def _error_title(exc: SyncError) -> str:
    if isinstance(exc, MissingScopeError):  # one table: the connection itself tests fine
        return "Missing scope"
    return "Connection test failed" if isinstance(exc, SourceAuthError) else "Source error"


def test_connection(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> dict[str, Any]:
    """``{"result": true}`` or ``{"result": false, "error": <Adobe envelope>}``; the outcome is
    kept on the connection as ``headwater.lastTest``."""
    result = _test(ctx, tenant, conn_id)
    connections.record_test_result(ctx, tenant, conn_id, result)
    return result


def _test(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> dict[str, Any]:
    with open_connector(ctx, tenant, conn_id) as connector:
        try:
            connector.check()
        except SyncError as exc:
            body = sync_error_body(exc)
            if isinstance(exc, SourceAuthError):
                ctx.emit(
                    "connection.credentials.failed",
                    {
                        "imsOrgId": tenant.org_id,
                        "sandboxName": tenant.sandbox_name,
                        "connectionId": conn_id,
                        "status": "failed",
                        "errors": [{"code": exc.run_code, "message": exc.message}],
                    },
                )
            return {"result": False, "error": body}
    return {"result": True}


@overload
def explore(
    ctx: ServiceContext,
    tenant: Tenant,
    conn_id: str,
    *,
    object_type: Literal["root"],
    obj: str | None,
    preview: bool,
    limit: int = 10,
) -> list[JsonObject]: ...


@overload
def explore(
    ctx: ServiceContext,
    tenant: Tenant,
    conn_id: str,
    *,
    object_type: Literal["table"],
    obj: str | None,
    preview: bool,
    limit: int = 10,
) -> JsonObject: ...


@overload
def explore(
    ctx: ServiceContext,
    tenant: Tenant,
    conn_id: str,
    *,
    object_type: str | None,
    obj: str | None,
    preview: bool,
    limit: int = 10,
) -> JsonObject | list[JsonObject]: ...


def explore(
    ctx: ServiceContext,
    tenant: Tenant,
    conn_id: str,
    *,
    object_type: str | None,
    obj: str | None,
    preview: bool,
    limit: int = 10,
) -> JsonObject | list[JsonObject]:
    """Adobe's explore: the table listing (``root``) or one table's columns (and rows)."""
    kind = (object_type or "root").strip().lower()
    if kind not in OBJECT_TYPES:
        raise InvalidRequestError(
            f"objectType '{object_type}' is not supported by {SOURCES}; use root or table"
        )
    with open_connector(ctx, tenant, conn_id) as connector:
        if kind == "root":
            return connector.explore_root()
        if not obj:
            raise InvalidRequestError("object is required with objectType=table")
        return connector.explore_table(obj, preview=preview, limit=limit)


def explore_cached(
    ctx: ServiceContext,
    tenant: Tenant,
    conn_id: str,
    *,
    object_type: Literal["root", "table"],
    obj: str | None = None,
    refresh: bool = False,
) -> Any:
    """``explore`` without rows, kept for ``ctx.explore_cache.ttl_ms`` per connection version.

    For pages a person clicks through (the table list and a table's columns are read again on
    every click); an edit of the connection changes its etag and so misses the cache, and
    ``refresh`` reads the source again. Previews (rows) are always live."""
    etag = connections.get_connection(ctx, tenant, conn_id).get("etag")
    key = (tenant.org_id, tenant.sandbox_id, conn_id, etag, object_type, obj)
    now = ctx.clock()
    if not refresh and (hit := ctx.explore_cache.get(key, now)) is not None:
        return copy.deepcopy(hit)
    result = explore(ctx, tenant, conn_id, object_type=object_type, obj=obj, preview=False)
    ctx.explore_cache.put(key, copy.deepcopy(result), now)
    return result
