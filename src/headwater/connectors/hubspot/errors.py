"""Turn HubSpot error responses into Headwater's error tree, with HubSpot's own reason in the text."""

from __future__ import annotations

import json
from typing import Any

import httpx

from headwater.errors import (
    FatalSourceError,
    MissingScopeError,
    RetriableSourceError,
    SourceAuthError,
    SyncError,
)

__all__ = ["error_body", "error_from_response", "missing_scopes"]


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON error body, or ``{}`` when the body is not a JSON object."""
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def missing_scopes(body: dict[str, Any]) -> list[str]:
    """Scope names from a ``MISSING_SCOPES`` body (``requiredGranularScopes`` or ``requiredScopes``)."""
    scopes: list[str] = []
    for item in body.get("errors") or []:
        context = item.get("context") if isinstance(item, dict) else None
        if not isinstance(context, dict):
            continue
        for key in ("requiredGranularScopes", "requiredScopes"):
            for scope in context.get(key) or []:
                if isinstance(scope, str) and scope not in scopes:
                    scopes.append(scope)
    return scopes


def _where(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url.path}"


def error_from_response(response: httpx.Response) -> SyncError:
    """The error a failed HubSpot call stands for, classified by how to recover from it."""
    status = response.status_code
    body = error_body(response)
    category = str(body.get("category") or body.get("status") or "")
    message = str(body.get("message") or response.reason_phrase or "").strip()
    where = _where(response)
    if status == 401:
        if category == "EXPIRED_AUTHENTICATION":
            return SourceAuthError(
                f"HubSpot access token expired and could not be renewed: {message}"
            )
        return SourceAuthError(
            f"HubSpot rejected the access token ({category or 'INVALID_AUTHENTICATION'}): {message}"
        )
    if status == 530:
        return SourceAuthError("HubSpot could not route the request: the access token is malformed")
    if status == 403:
        if category == "MISSING_SCOPES":
            scopes = missing_scopes(body)
            named = ", ".join(scopes) if scopes else "not named by HubSpot"
            return MissingScopeError(
                f"HubSpot token is missing required scopes for {where}: {named}. "
                "Grant them to the app and reconnect.",
                scopes=tuple(scopes),
            )
        return FatalSourceError(f"HubSpot refused {where} (403 {category}): {message}")
    if status == 429 or status >= 500:
        return RetriableSourceError(f"HubSpot answered {status} to {where}: {message}")
    if status == 414:
        return FatalSourceError(f"HubSpot answered 414 URI Too Long to {where}")
    if status == 404:
        return FatalSourceError(f"HubSpot has no such resource: {where} ({category}: {message})")
    return FatalSourceError(f"HubSpot answered {status} {category} to {where}: {message}")
