"""The OAuth authorization-code flow of a source that offers one (``ConnectorType.oauth``: its
consent page, token endpoint and scopes), against the configured source or the bundled emulator."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from headwater.errors import SourceAuthError


def form_action_origin(authorize_endpoint: str) -> str:
    parts = urllib.parse.urlsplit(authorize_endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def authorize_url(
    authorize_endpoint: str,
    *,
    scopes: Sequence[str],
    optional_scopes: Sequence[str] = (),
    client_id: str,
    redirect_uri: str,
    state: str,
) -> str:
    query = {"client_id": client_id, "redirect_uri": redirect_uri, "scope": " ".join(scopes)}
    if optional_scopes:
        query["optional_scope"] = " ".join(optional_scopes)
    query["state"] = state
    return f"{authorize_endpoint}?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


def exchange_code(
    token_endpoint: str,
    *,
    source: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
) -> Tokens:
    """``POST`` the token endpoint with ``grant_type=authorization_code``; ``source`` names the
    source in errors."""
    try:
        response = httpx.post(
            token_endpoint,
            data={
                "grant_type": "authorization_code",
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": redirect_uri,
                "code": code,
            },
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise SourceAuthError(f"{source} could not be reached: {exc}") from exc
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        message = body.get("message") if isinstance(body, dict) else None
        raise SourceAuthError(
            f"{source} refused the authorization ({response.status_code}): "
            f"{message or response.text[:200]}"
        )
    return Tokens(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token", "")),
        expires_in=int(body.get("expires_in", 1800)),
    )
