"""Small helpers shared by the emulator tests."""

from __future__ import annotations

import httpx

from headwater.emulator.hubspot import RunningEmulator


def api(emu: RunningEmulator, token: str | None = None) -> httpx.Client:
    """A keep-alive client for the emulator authenticated with ``token`` (private-app by default)."""
    return httpx.Client(
        base_url=emu.base_url,
        headers={"Authorization": f"Bearer {token or emu.private_app_token}"},
        timeout=30,
    )


def oauth_token(emu: RunningEmulator) -> str:
    """A fresh OAuth access token from the default refresh token."""
    r = httpx.post(
        f"{emu.base_url}/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": emu.oauth_client_id,
            "client_secret": emu.oauth_client_secret,
            "refresh_token": emu.refresh_token,
        },
    )
    r.raise_for_status()
    return str(r.json()["access_token"])
