"""Response builders shared by the routes, the error handlers and the middleware."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from headwater.services.listing import ListResult


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON, as Adobe's services send it."""
    return Response(
        content=json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def list_envelope(
    collection: str, items: list[dict[str, Any]], next_token: str | None
) -> dict[str, Any]:
    """A Flow Service list page: ``items`` and ``_links.next.href`` when there is more."""
    links: dict[str, Any] = {}
    if next_token:
        links["next"] = {"href": f"/{collection}?continuationToken={next_token}"}
    return {"items": items, "_links": links}


def list_response(collection: str, result: ListResult) -> Response:
    """``{"count": n}`` for ``count=true``, else a page of ``collection``."""
    if result.count is not None:
        return json_response({"count": result.count})
    return json_response(list_envelope(collection, result.items, result.next_token))
