"""The tutorial's request bodies for a HubSpot connection and its source connection, with the
credentials of the e2e emulator (``tests/e2e/conftest.Emulator``)."""

from __future__ import annotations

from typing import Any

from tests.flows import HUBSPOT


def hubspot_connection(
    emu: Any, name: str = "connection for HubSpot", description: str | None = None
) -> dict[str, Any]:
    """``POST /connections``: the four OAuth credentials, as the tutorial sends them."""
    body: dict[str, Any] = {"name": name}
    if description is not None:
        body["description"] = description
    body["auth"] = {
        "specName": "Basic Authentication",
        "params": {
            "clientId": emu.info["oauth_client_id"],
            "clientSecret": emu.info["oauth_client_secret"],
            "accessToken": emu.access_token(),
            "refreshToken": emu.info["refresh_token"],
        },
    }
    body["connectionSpec"] = {"id": HUBSPOT, "version": "1.0"}
    return body


def hubspot_source(
    base_id: str, name: str = "HubSpot source connection", **params: Any
) -> dict[str, Any]:
    """``POST /sourceConnections`` reading one table (``path=`` or aepp's ``tableName=``)."""
    return {
        "name": name,
        "baseConnectionId": base_id,
        "data": {"format": "tabular"},
        "params": params,
        "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
    }
