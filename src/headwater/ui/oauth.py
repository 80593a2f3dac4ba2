"""The OAuth authorization-code flow against the configured HubSpot (or the bundled emulator)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

from headwater.errors import SourceAuthError

PUBLIC_API = "https://api.hubapi.com"
PUBLIC_AUTHORIZE = "https://app.hubspot.com/oauth/authorize"
SCOPES = ("oauth", "crm.objects.contacts.read")
OPTIONAL_SCOPES = (
    "crm.objects.companies.read",
    "crm.objects.deals.read",
    "tickets",
    "e-commerce",
    "sales-email-read",
    "crm.objects.owners.read",
    "crm.schemas.custom.read",
    "crm.objects.custom.read",
    "crm.lists.read",
    "forms",
    "content",
    "marketing.campaigns.read",
    "communication_preferences.read",
    "automation",
)


def authorize_endpoint(api_base: str) -> str:
    """HubSpot's consent page lives on app.hubspot.com; another base URL serves its own."""
    base = api_base.rstrip("/")
    return PUBLIC_AUTHORIZE if base == PUBLIC_API else base + "/oauth/authorize"


def form_action_origin(api_base: str) -> str:
    parts = urllib.parse.urlsplit(authorize_endpoint(api_base))
    return f"{parts.scheme}://{parts.netloc}"


def authorize_url(api_base: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    query = urllib.parse.urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(SCOPES),
            "optional_scope": " ".join(OPTIONAL_SCOPES),
            "state": state,
        },
        quote_via=urllib.parse.quote,
    )
    return f"{authorize_endpoint(api_base)}?{query}"


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


def exchange_code(
    api_base: str, *, client_id: str, client_secret: str, redirect_uri: str, code: str
) -> Tokens:
    """``POST /oauth/v1/token`` with ``grant_type=authorization_code``."""
    try:
        response = httpx.post(
            api_base.rstrip("/") + "/oauth/v1/token",
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
        raise SourceAuthError(f"HubSpot could not be reached: {exc}") from exc
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        message = body.get("message") if isinstance(body, dict) else None
        raise SourceAuthError(
            f"HubSpot refused the authorization ({response.status_code}): "
            f"{message or response.text[:200]}"
        )
    return Tokens(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token", "")),
        expires_in=int(body.get("expires_in", 1800)),
    )
