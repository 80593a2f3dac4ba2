"""Small helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

import httpx

from headwater.emulator.hubspot import EmulatorConfig, ManualClock, RunningEmulator

# A small portal: every type has records, and a module's whole test run stays fast.
SMALL: dict[str, int] = {
    "contacts": 450,
    "companies": 60,
    "deals": 80,
    "tickets": 40,
    "engagements": 20,
    "line_items": 30,
    "custom_records": 25,
    "products": 10,
}


def small_config(**overrides: Any) -> EmulatorConfig:
    """A :data:`SMALL` portal on a :class:`ManualClock` unless ``overrides`` say otherwise."""
    values: dict[str, Any] = {**SMALL, "clock": ManualClock()}
    values.update(overrides)
    return EmulatorConfig(**values)


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


def all_pages(c: httpx.Client, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every record of a list endpoint, following ``paging.next.link`` to the end."""
    out: list[dict[str, Any]] = []
    page = c.get(url, params=params).json()
    while True:
        out.extend(page["results"])
        if "paging" not in page:
            return out
        assert page["paging"], "paging must be omitted, never empty"
        page = c.get(page["paging"]["next"]["link"]).json()


def live_ids(emu: RunningEmulator, object_type: str) -> list[int]:
    store = emu.state.stores[object_type]
    return [i for i in range(1, store.size + 1) if not store.is_archived(i)]


def archived_ids(emu: RunningEmulator, object_type: str) -> list[int]:
    store = emu.state.stores[object_type]
    return [i for i in range(1, store.size + 1) if store.is_archived(i)]
