"""The bridge from base connections to source connectors: connection tests and explore."""

from __future__ import annotations

from typing import Any

from headwater.domain import specs
from headwater.errors import InvalidRequestError, SourceAuthError, SyncError
from headwater.services import connections
from headwater.services.context import ServiceContext, Tenant

OBJECT_TYPES = {"root", "table"}


def open_connector(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> Any:
    """A HubSpot connector for a base connection; rotated tokens are stored back, encrypted."""
    from headwater.connectors.hubspot import HubSpotConnector, ReadOptions

    doc, params = connections.read_credentials(ctx, tenant, conn_id)
    if doc["connectionSpec"]["id"] != specs.HUBSPOT_SPEC_ID:
        raise InvalidRequestError(
            f"connection {conn_id} uses connection spec {doc['connectionSpec']['id']}, "
            "which has nothing to explore or test"
        )
    params = dict(params)
    if doc.get("_tokenExpiresAt"):
        params["expiresAt"] = doc["_tokenExpiresAt"]

    def persist(tokens: dict[str, str]) -> None:
        connections.store_refreshed_params(ctx, tenant, conn_id, tokens)

    return HubSpotConnector(
        auth_spec_name=doc["auth"]["specName"],
        params=params,
        base_url=ctx.hubspot_base_url,
        on_tokens_refreshed=persist,
        **({"limiter_registry": ctx.hubspot_limiters} if ctx.hubspot_limiters is not None else {}),
        read_options=ReadOptions(
            lookback_ms=ctx.hubspot_lookback_ms,
            deletes_every_ms=ctx.hubspot_deletes_every_ms,
            associations_every_ms=ctx.hubspot_associations_every_ms,
        ),
    )


def sync_error_body(exc: SyncError, request_id: str = "") -> dict[str, Any]:
    """A connector failure in Adobe's error envelope (``type`` carries the run error code)."""
    code = exc.run_code
    status = int(code.rsplit("-", 1)[-1]) if code[-3:].isdigit() else 400
    return {
        "type": f"https://ns.adobe.com/aep/errors/{code}",
        "title": "Connection test failed" if isinstance(exc, SourceAuthError) else "Source error",
        "status": status,
        "report": {"detailed-message": exc.message, "request-id": request_id},
        "errorMessage": exc.message,
        "errorDetails": exc.message,
    }


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


def explore(
    ctx: ServiceContext,
    tenant: Tenant,
    conn_id: str,
    *,
    object_type: str | None,
    obj: str | None,
    preview: bool,
    limit: int = 10,
) -> Any:
    kind = (object_type or "root").strip().lower()
    if kind not in OBJECT_TYPES:
        raise InvalidRequestError(
            f"objectType '{object_type}' is not supported by HubSpot; use root or table"
        )
    with open_connector(ctx, tenant, conn_id) as connector:
        if kind == "root":
            return connector.explore_root()
        if not obj:
            raise InvalidRequestError("object is required with objectType=table")
        return connector.explore_table(obj, preview=preview, limit=limit)
